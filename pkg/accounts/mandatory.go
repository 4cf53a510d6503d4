package accounts

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/template/helm"
)

// IsMandatory reports whether ti is one of the instances an Account requires in its Spaces.
func IsMandatory(ti *configv1alpha1.TemplateInstance) bool {
	return ti.Annotations[configv1alpha1.MandatoryAnnotation] == "true"
}

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
		ti.Annotations[configv1alpha1.MandatoryAnnotation] = "true"
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
		if err := CreateMandatory(ctx, config, ti); err != nil {
			return err
		}
	}
	return nil
}

// CreateMandatory creates ti, one of Mandatory's instances, unless it exists already or its
// namespace is being deleted.
func CreateMandatory(ctx context.Context, config versioned.Interface, ti *configv1alpha1.TemplateInstance) error {
	_, err := config.ConfigV1alpha1().TemplateInstances(ti.Namespace).Create(ctx, ti, metav1.CreateOptions{FieldManager: configv1alpha1.FieldManager})
	if apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		return nil // the Space is going away
	}
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating mandatory template instance %s/%s: %w", ti.Namespace, ti.Name, err)
	}
	return nil
}

// MandatoryDrift names the first field in which have, an instance in a Space, differs from
// want, the instance its Account requires there (one of Mandatory's); "" when they agree.
func MandatoryDrift(have, want *configv1alpha1.TemplateInstance) string {
	switch {
	case have.Spec.Template != want.Spec.Template:
		return "spec.template"
	case !equality.Semantic.DeepEqual(have.Spec.Parameters, want.Spec.Parameters) &&
		(len(have.Spec.Parameters) != 0 || len(want.Spec.Parameters) != 0):
		return "spec.parameters"
	case have.Spec.Sync != want.Spec.Sync:
		return "spec.sync"
	case have.Labels[configv1alpha1.AccountLabel] != want.Labels[configv1alpha1.AccountLabel]:
		return "metadata.labels[" + configv1alpha1.AccountLabel + "]"
	case have.Annotations[configv1alpha1.MandatoryAnnotation] != want.Annotations[configv1alpha1.MandatoryAnnotation]:
		return "metadata.annotations[" + configv1alpha1.MandatoryAnnotation + "]"
	}
	return ""
}

// ResetMandatory sets have, a mandatory instance that MandatoryDrift finds different from
// want, back to want. spec.template cannot change, so an instance of another Template is
// deleted, to be created again once it is gone. Otherwise its parameters, sync, Account label
// and mandatory annotation are set back, and a deployed instance is marked Pending, so that
// its objects are applied again with the Account's parameters.
func ResetMandatory(ctx context.Context, config versioned.Interface, have, want *configv1alpha1.TemplateInstance) error {
	client := config.ConfigV1alpha1().TemplateInstances(have.Namespace)
	if have.Spec.Template != want.Spec.Template {
		err := client.Delete(ctx, have.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &have.UID}})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting mandatory template instance %s/%s of another template: %w", have.Namespace, have.Name, err)
		}
		return nil
	}
	ti := have.DeepCopy()
	ti.Spec.Parameters, ti.Spec.Sync = want.Spec.Parameters, want.Spec.Sync
	if ti.Labels == nil {
		ti.Labels = map[string]string{}
	}
	ti.Labels[configv1alpha1.AccountLabel] = want.Labels[configv1alpha1.AccountLabel]
	if ti.Annotations == nil {
		ti.Annotations = map[string]string{}
	}
	ti.Annotations[configv1alpha1.MandatoryAnnotation] = want.Annotations[configv1alpha1.MandatoryAnnotation]
	ti, err := client.Update(ctx, ti, metav1.UpdateOptions{FieldManager: configv1alpha1.FieldManager})
	if err != nil {
		return fmt.Errorf("resetting mandatory template instance %s/%s: %w", have.Namespace, have.Name, err)
	}
	if ti.Status.Status != configv1alpha1.TemplateInstanceStatusDeployed {
		return nil // not deployed yet, or failed and retried: the next attempt uses the new spec
	}
	ti.Status.Status, ti.Status.Reason = configv1alpha1.TemplateInstanceStatusPending, "SpecReset"
	ti.Status.Message = "spec reset to the Account's spec.space.templateInstances"
	if _, err := client.UpdateStatus(ctx, ti, metav1.UpdateOptions{FieldManager: configv1alpha1.FieldManager}); err != nil {
		return fmt.Errorf("marking reset mandatory template instance %s/%s for apply: %w", have.Namespace, have.Name, err)
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
	case configv1alpha1.ReasonApplyFailed, configv1alpha1.ReasonPruneFailed, configv1alpha1.ReasonTemplateNotFound, configv1alpha1.ReasonConflict:
		return false
	}
	return true
}
