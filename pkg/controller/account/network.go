package account

import (
	"context"
	"fmt"
	"maps"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/accounts"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

// syncNetworkPolicy makes the isolation NetworkPolicy of one Space match its Account's
// spec.isolation.network: created, set back when changed, deleted for mode None.
func (c *Controller) syncNetworkPolicy(ctx context.Context, account *configv1alpha1.Account, namespace string) error {
	want := accounts.DesiredNetworkPolicy(account, namespace)
	have, err := c.policies.NetworkPolicies(namespace).Get(accounts.NetworkPolicyName)
	switch {
	case apierrors.IsNotFound(err):
		have = nil
	case err != nil:
		return err
	}
	client := c.kube.NetworkingV1().NetworkPolicies(namespace)
	switch {
	case want == nil && have == nil:
		return nil
	case want == nil:
		if have.Labels[configv1alpha1.AccountLabel] != account.Name {
			return nil // not the server's: an admin's policy of the same name
		}
		err := client.Delete(ctx, have.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &have.UID}})
		if err == nil {
			isolationWrites.WithLabelValues("networkpolicy", "delete").Inc()
		}
		return ignoreNotFound(err)
	case have == nil:
		_, err := client.Create(ctx, want, metav1.CreateOptions{FieldManager: configv1alpha1.FieldManager})
		if apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("NetworkPolicy %s/%s exists but is not in the cache yet", namespace, want.Name)
		}
		if err != nil {
			return fmt.Errorf("creating the isolation NetworkPolicy of space %s: %w", namespace, err)
		}
		isolationWrites.WithLabelValues("networkpolicy", "create").Inc()
		return nil
	}
	if equality.Semantic.DeepEqual(have.Spec, want.Spec) && hasLabels(have.Labels, want.Labels) {
		return nil
	}
	klog.FromContext(ctx).Info("Setting back the isolation NetworkPolicy of a Space", "space", namespace, "account", account.Name)
	updated := have.DeepCopy()
	updated.Spec = want.Spec
	if updated.Labels == nil {
		updated.Labels = map[string]string{}
	}
	maps.Copy(updated.Labels, want.Labels)
	if _, err := client.Update(ctx, updated, metav1.UpdateOptions{FieldManager: configv1alpha1.FieldManager}); err != nil {
		return fmt.Errorf("updating the isolation NetworkPolicy of space %s: %w", namespace, err)
	}
	isolationWrites.WithLabelValues("networkpolicy", "update").Inc()
	return nil
}
