package space

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/klog/v2"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/accounts"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
	tenancyregistry "github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy/reservation"
)

// creator makes a new Space and all that comes with it: its place under the Account's Space
// limit, its namespace, the Account's mandatory TemplateInstances, deployed, and its
// RoleBinding, known to the access index. On any failure one deferred rollback removes the
// namespace, once made, and gives back the place.
type creator struct {
	writer     Writer
	index      *access.Index
	visibility tenancyregistry.Visibility
}

func (r *REST) creator() creator {
	return creator{writer: r.writer, index: r.index, visibility: r.visibility}
}

// create makes ns, a Space of account (nil for a Space of no Account), for the caller u,
// and returns the namespace made once u can use it.
func (c creator) create(ctx context.Context, u user.Info, ns *corev1.Namespace, account *configv1alpha1.Account) (_ *corev1.Namespace, err error) {
	var made *corev1.Namespace
	defer func() {
		if err != nil {
			c.rollback(made, account, ns.Name)
		}
	}()
	if err = c.reserve(ctx, u, account, ns.Name, false); err != nil {
		return nil, err
	}
	made, err = c.writer.Kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{FieldManager: configv1alpha1.FieldManager})
	if apierrors.IsAlreadyExists(err) {
		made = nil
		return nil, apierrors.NewAlreadyExists(tenancy.Resource("spaces"), ns.Name)
	}
	if err != nil {
		made = nil
		return nil, err
	}
	if account != nil {
		if err := c.isolate(ctx, account, made.Name); err != nil {
			return nil, err
		}
		if err := c.instantiate(ctx, account, made.Name); err != nil {
			return nil, err
		}
		if err := c.bind(ctx, u, account, made); err != nil {
			return nil, err
		}
	}
	accountName := ""
	if account != nil {
		accountName = account.Name
	}
	klog.InfoS("Space created", "space", made.Name, "account", accountName, "user", u.GetName())
	return made, nil
}

// reserve takes the place of Space name under the limit of account, with a compare-and-swap
// on the Account's ledger record, so that no number of concurrent creates on any number of
// replicas overshoots the limit. With dryRun it only checks. Callers who may create
// namespaces cluster-wide are not held to the limit (reservation.ForSpace).
func (c creator) reserve(ctx context.Context, u user.Info, account *configv1alpha1.Account, name string, dryRun bool) error {
	return reservation.ForSpace(ctx, c.writer.Reservations, c.visibility.Allowed, u, account, name,
		func() ([]string, error) { return accounts.SpacesOf(c.index, account.Name) }, dryRun)
}

// rollback undoes a failed create: it removes ns, the namespace made, if any, and gives
// back the Space's place when its Account has a limit.
func (c creator) rollback(ns *corev1.Namespace, account *configv1alpha1.Account, name string) {
	if ns != nil {
		c.undo(ns)
	}
	if account != nil && account.Spec.Space.Limit != nil {
		c.release(account.Name, name)
	}
}

// release gives back the place of a Space that failed or went away.
func (c creator) release(account, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.writer.Reservations.Release(ctx, account, name); err != nil {
		// The place comes back by itself once the reservation expires.
		klog.ErrorS(err, "Releasing a Space reservation", "account", account, "space", name)
	}
}

// bind creates the Account's RoleBinding in the new namespace and waits until the access
// index shows the Space to the caller: the next `kubectl get spaces` lists it.
func (c creator) bind(ctx context.Context, u user.Info, account *configv1alpha1.Account, ns *corev1.Namespace) error {
	rb := accounts.DesiredBinding(account, ns.Name)
	if rb == nil {
		return nil
	}
	// The Account controller may have made the same binding first, on seeing the namespace.
	_, err := c.writer.Kube.RbacV1().RoleBindings(ns.Name).Create(ctx, rb, metav1.CreateOptions{FieldManager: configv1alpha1.FieldManager})
	if apierrors.IsForbidden(err) {
		// RBAC's escalation check: this server may bind only the roles it is granted "bind"
		// on (or whose permissions it holds), so say which role of which Account it was.
		return apierrors.NewForbidden(tenancy.Resource("spaces"), ns.Name, fmt.Errorf(
			"account %s binds its subjects to ClusterRole %q (spec.space.clusterRole), which tenancy-apiserver may not bind: %w",
			account.Name, rb.RoleRef.Name, err))
	}
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("binding account %s in space %s: %w", account.Name, ns.Name, err)
	}
	if !tenancyregistry.IsSubject(u, account.Spec.Subjects) {
		return nil
	}
	subject := tenancyregistry.SubjectOf(u)
	wait, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	err = c.index.Spaces().WaitFor(wait, func(snap *access.Snapshot[*corev1.Namespace]) bool {
		// Done when the caller sees the Space, or when the binding is known and its role
		// simply does not let the caller get namespaces: waiting longer changes nothing.
		return snap.Visible(subject, ns.Name) || (hasSpace(snap, ns.Name) && c.index.HasRoleBinding(ns.Name, rb.Name))
	})
	if err != nil {
		return apierrors.NewTimeoutError(fmt.Sprintf("space %s was created but %q could not use it within %s", ns.Name, u.GetName(), readyTimeout), 1)
	}
	return nil
}

func hasSpace(snap *access.Snapshot[*corev1.Namespace], name string) bool {
	_, ok := snap.Get(name)
	return ok
}

// isolate creates the Account's isolation NetworkPolicy in a new Space, so that no Pod runs
// there before it. The Account controller keeps it afterwards.
func (c creator) isolate(ctx context.Context, account *configv1alpha1.Account, namespace string) error {
	np := accounts.DesiredNetworkPolicy(account, namespace)
	if np == nil {
		return nil
	}
	_, err := c.writer.Kube.NetworkingV1().NetworkPolicies(namespace).Create(ctx, np, metav1.CreateOptions{FieldManager: configv1alpha1.FieldManager})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the isolation NetworkPolicy of space %s: %w", namespace, err)
	}
	return nil
}

// instantiate creates the Account's mandatory TemplateInstances in a new Space and waits
// until they are deployed, so that the Space's users never see it without them.
func (c creator) instantiate(ctx context.Context, account *configv1alpha1.Account, namespace string) error {
	mandatory := accounts.Mandatory(account, namespace)
	if len(mandatory) == 0 {
		return nil
	}
	if err := accounts.EnsureMandatory(ctx, c.writer.Config, account, namespace); err != nil {
		return err
	}
	names := make([]string, 0, len(mandatory))
	for _, ti := range mandatory {
		names = append(names, ti.Name)
	}
	if err := accounts.WaitDeployed(ctx, c.writer.Config, namespace, names, readyTimeout); err != nil {
		return apierrors.NewInternalError(fmt.Errorf("space %s: %w", namespace, err))
	}
	return nil
}

// undo removes a namespace a failed create made.
func (c creator) undo(ns *corev1.Namespace) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := c.writer.Kube.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &ns.UID}})
	if err != nil && !apierrors.IsNotFound(err) {
		klog.ErrorS(err, "Removing the namespace of a failed Space create", "space", ns.Name)
	}
}
