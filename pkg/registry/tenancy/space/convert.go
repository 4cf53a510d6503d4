package space

import (
	corev1 "k8s.io/api/core/v1"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/sleep"
)

// FromNamespace returns the Space view of a namespace: its metadata without the
// kiosk.sh/account label, whose value becomes spec.account.
func FromNamespace(ns *corev1.Namespace) *tenancy.Space {
	s := &tenancy.Space{ObjectMeta: *ns.ObjectMeta.DeepCopy()}
	s.ManagedFields = nil
	if account, ok := ns.Labels[configv1alpha1.AccountLabel]; ok {
		s.Spec.Account = account
		delete(s.Labels, configv1alpha1.AccountLabel)
		if len(s.Labels) == 0 {
			s.Labels = nil
		}
	}
	if len(ns.Spec.Finalizers) > 0 {
		s.Spec.Finalizers = append([]corev1.FinalizerName(nil), ns.Spec.Finalizers...)
	}
	s.Status.Phase = ns.Status.Phase
	if _, asleep := ns.Annotations[sleep.SleepingSince]; asleep && ns.Status.Phase != corev1.NamespaceTerminating {
		s.Status.Phase = Sleeping
	}
	return s
}

// Sleeping is the phase of a Space that sleep mode put to sleep: its namespace is Active,
// its workloads scaled to zero.
const Sleeping corev1.NamespacePhase = "Sleeping"

// ToNamespace returns the namespace a Space describes: its metadata with spec.account as the
// kiosk.sh/account label.
func ToNamespace(s *tenancy.Space) *corev1.Namespace {
	ns := &corev1.Namespace{ObjectMeta: *s.ObjectMeta.DeepCopy()}
	ns.ManagedFields = nil
	if s.Spec.Account != "" {
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		ns.Labels[configv1alpha1.AccountLabel] = s.Spec.Account
	}
	if len(s.Spec.Finalizers) > 0 {
		ns.Spec.Finalizers = append([]corev1.FinalizerName(nil), s.Spec.Finalizers...)
	}
	ns.Status.Phase = s.Status.Phase
	if ns.Status.Phase == Sleeping {
		ns.Status.Phase = corev1.NamespaceActive
	}
	return ns
}
