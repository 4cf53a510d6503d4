package templateinstance

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/template/helm"
)

// MandatoryAnnotation marks a TemplateInstance an Account requires in each of its Spaces.
const MandatoryAnnotation = configv1alpha1.MandatoryAnnotation

// Mandatory returns the TemplateInstances an Account requires in namespace.
func Mandatory(account *configv1alpha1.Account, namespace string) []*configv1alpha1.TemplateInstance {
	var out []*configv1alpha1.TemplateInstance
	for _, m := range account.Spec.Space.TemplateInstances {
		ti := &configv1alpha1.TemplateInstance{ObjectMeta: *m.ObjectMeta.DeepCopy(), Spec: *m.Spec.DeepCopy()}
		if ti.Name == "" {
			ti.Name = ti.Spec.Template
		}
		ti.Namespace = namespace
		ti.ResourceVersion, ti.UID, ti.GenerateName = "", "", ""
		if ti.Annotations == nil {
			ti.Annotations = map[string]string{}
		}
		ti.Annotations[MandatoryAnnotation] = "true"
		if ti.Labels == nil {
			ti.Labels = map[string]string{}
		}
		ti.Labels[configv1alpha1.AccountLabel] = account.Name
		out = append(out, ti)
	}
	return out
}

// EnsureMandatory creates the Account's mandatory TemplateInstances in namespace that do not
// exist yet.
func EnsureMandatory(ctx context.Context, config versioned.Interface, account *configv1alpha1.Account, namespace string) error {
	for _, ti := range Mandatory(account, namespace) {
		_, err := config.ConfigV1alpha1().TemplateInstances(namespace).Create(ctx, ti, metav1.CreateOptions{FieldManager: FieldManager})
		if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
			return nil // the Space is going away
		}
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating mandatory template instance %s/%s: %w", namespace, ti.Name, err)
		}
	}
	return nil
}

// WaitDeployed waits, by watching, until every named instance in namespace is Deployed. It
// fails at once when one has failed for good (its Template is invalid for this Space), or
// when timeout passes.
func WaitDeployed(ctx context.Context, config versioned.Interface, namespace string, names []string, timeout time.Duration) error {
	if len(names) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := config.ConfigV1alpha1().TemplateInstances(namespace)
	list, err := client.List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	state := map[string]*configv1alpha1.TemplateInstance{}
	for i := range list.Items {
		state[list.Items[i].Name] = &list.Items[i]
	}
	check := func() (bool, error) {
		for _, n := range names {
			ti := state[n]
			if ti == nil {
				return false, nil
			}
			switch ti.Status.Status {
			case configv1alpha1.TemplateInstanceStatusFailed:
				if permanent(ti.Status.Reason) {
					return false, fmt.Errorf("mandatory template instance %s failed: %s: %s", n, ti.Status.Reason, ti.Status.Message)
				}
				return false, nil
			case configv1alpha1.TemplateInstanceStatusDeployed:
			default:
				return false, nil
			}
		}
		return true, nil
	}
	if done, err := check(); done || err != nil {
		return err
	}
	w, err := client.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		return err
	}
	defer w.Stop()
	for {
		select {
		case ev, ok := <-w.ResultChan():
			if !ok {
				return fmt.Errorf("watching template instances in %s ended", namespace)
			}
			ti, isTI := ev.Object.(*configv1alpha1.TemplateInstance)
			if !isTI {
				continue
			}
			if ev.Type == watch.Deleted {
				delete(state, ti.Name)
			} else {
				state[ti.Name] = ti
			}
			if done, err := check(); done || err != nil {
				return err
			}
		case <-ctx.Done():
			return fmt.Errorf("mandatory template instances in %s were not deployed within %s", namespace, timeout)
		}
	}
}

// permanent reports whether a failure cannot go away by retrying: the Template or its
// parameters are wrong for this Space. A Conflict may: the other instance may be going.
func permanent(reason string) bool {
	if helm.Transient(reason) {
		return false
	}
	switch reason {
	case "ApplyFailed", "PruneFailed", "TemplateNotFound", ReasonConflict:
		return false
	}
	return true
}
