package space

import (
	"context"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/accounts"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
	tenancyregistry "github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy/reservation"
)

// readyTimeout bounds how long a create waits for its caller to be able to use the Space.
const readyTimeout = 10 * time.Second

// AccountGetter reads the Account of a new Space as v1alpha1; accounts.Reader is the
// server's.
type AccountGetter interface {
	Get(ctx context.Context, name string) (*configv1alpha1.Account, error)
}

// Releaser gives back the place a Space held under its Account's limit; the SpaceLimit
// admission plugin reserved it. reservation.Ledger is the server's.
type Releaser interface {
	Release(ctx context.Context, account, name string) error
}

var (
	_ AccountGetter = accounts.Reader{}
	_ Releaser      = &reservation.Ledger{}
)

// Writer creates and deletes the namespaces behind Spaces.
type Writer struct {
	Kube kubernetes.Interface
	// Accounts reads the Accounts of new Spaces.
	Accounts AccountGetter
	// Reservations hold Space limits across replicas.
	Reservations Releaser
	// Config creates the mandatory TemplateInstances of new Spaces.
	Config versioned.Interface
	// Enforced reports whether the Space admission plugins are in the admission chain;
	// without them no Space is created.
	Enforced func() bool
}

var (
	_ rest.Creater         = &REST{}
	_ rest.GracefulDeleter = &REST{}
)

// Create makes the namespace of a Space for an Account the caller belongs to, with the
// Account's labels, annotations and RoleBinding, and returns once the caller can use it. On
// any failure it removes what it made.
func (r *REST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (_ runtime.Object, err error) {
	u, err := userFrom(ctx)
	if err != nil {
		return nil, err
	}
	s := obj.(*tenancy.Space)
	if errs := validateNew(s); len(errs) > 0 {
		return nil, apierrors.NewInvalid(tenancy.Kind("Space"), s.Name, errs)
	}
	// The admission chain checks the caller may create a Space for the Account
	// (SpaceAccount) and reserves its place under the Account's limit (SpaceLimit).
	if r.writer.Enforced != nil && !r.writer.Enforced() {
		return nil, apierrors.NewInternalError(fmt.Errorf("Spaces are not created while the SpaceAccount or SpaceLimit admission plugin is disabled"))
	}
	if createValidation != nil {
		if err := createValidation(ctx, obj); err != nil {
			return nil, err
		}
	}
	ns := ToNamespace(s)
	ns.ResourceVersion, ns.UID = "", ""
	var account *configv1alpha1.Account
	if s.Spec.Account != "" {
		if account, err = r.writer.Accounts.Get(ctx, s.Spec.Account); err != nil {
			return nil, err
		}
		mergeSpaceTemplate(ns, account)
	}
	if options != nil && len(options.DryRun) > 0 {
		return FromNamespace(ns), nil
	}
	// From here on a failure removes the namespace, once made, and gives back the Space's
	// place under its Account's limit.
	var made *corev1.Namespace
	defer func() {
		if err != nil {
			r.rollback(made, account, s.Name)
		}
	}()
	created, err := r.writer.Kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{FieldManager: configv1alpha1.FieldManager})
	if apierrors.IsAlreadyExists(err) {
		return nil, apierrors.NewAlreadyExists(tenancy.Resource("spaces"), s.Name)
	}
	if err != nil {
		return nil, err
	}
	made = created
	if account != nil {
		if err := r.instantiate(ctx, account, created.Name); err != nil {
			return nil, err
		}
		if err := r.bind(ctx, u, account, created); err != nil {
			return nil, err
		}
	}
	klog.InfoS("Space created", "space", created.Name, "account", s.Spec.Account, "user", u.GetName())
	return FromNamespace(created), nil
}

func validateNew(s *tenancy.Space) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range apivalidation.ValidateNamespaceName(s.Name, false) {
		errs = append(errs, field.Invalid(field.NewPath("metadata", "name"), s.Name, msg))
	}
	for k := range s.Labels {
		if k == configv1alpha1.AccountLabel {
			errs = append(errs, field.Forbidden(field.NewPath("metadata", "labels").Key(k), "is set from spec.account"))
		}
	}
	return errs
}

// rollback undoes a failed create: it removes ns, the namespace made, if any, and gives
// back the Space's place when its Account has a limit.
func (r *REST) rollback(ns *corev1.Namespace, account *configv1alpha1.Account, name string) {
	if ns != nil {
		r.undo(ns)
	}
	if account != nil && account.Spec.Space.Limit != nil {
		r.release(account.Name, name)
	}
}

// release gives back the place of a Space that failed or went away.
func (r *REST) release(account, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.writer.Reservations.Release(ctx, account, name); err != nil {
		// The place comes back by itself once the reservation expires.
		klog.ErrorS(err, "Releasing a Space reservation", "account", account, "space", name)
	}
}

// mergeSpaceTemplate sets the Account's spaceTemplate labels and annotations on a new
// namespace. The Account's values win over those of the Space.
func mergeSpaceTemplate(ns *corev1.Namespace, account *configv1alpha1.Account) {
	meta := account.Spec.Space.SpaceTemplate.ObjectMeta
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	maps.Copy(ns.Labels, meta.Labels)
	if len(meta.Annotations) > 0 && ns.Annotations == nil {
		ns.Annotations = map[string]string{}
	}
	maps.Copy(ns.Annotations, meta.Annotations)
	ns.Labels[configv1alpha1.AccountLabel] = account.Name
}

// bind creates the Account's RoleBinding in the new namespace and waits until the access
// index shows the Space to the caller: the next `kubectl get spaces` lists it.
func (r *REST) bind(ctx context.Context, u user.Info, account *configv1alpha1.Account, ns *corev1.Namespace) error {
	rb := accounts.DesiredBinding(account, ns.Name)
	if rb == nil {
		return nil
	}
	// The Account controller may have made the same binding first, on seeing the namespace.
	_, err := r.writer.Kube.RbacV1().RoleBindings(ns.Name).Create(ctx, rb, metav1.CreateOptions{FieldManager: configv1alpha1.FieldManager})
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
	err = r.index.Spaces().WaitFor(wait, func(snap *access.Snapshot[*corev1.Namespace]) bool {
		// Done when the caller sees the Space, or when the binding is known and its role
		// simply does not let the caller get namespaces: waiting longer changes nothing.
		return snap.Visible(subject, ns.Name) || (hasSpace(snap, ns.Name) && r.index.HasRoleBinding(ns.Name, rb.Name))
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

// instantiate creates the Account's mandatory TemplateInstances in a new Space and waits
// until they are deployed, so that the Space's users never see it without them.
func (r *REST) instantiate(ctx context.Context, account *configv1alpha1.Account, namespace string) error {
	mandatory := accounts.Mandatory(account, namespace)
	if len(mandatory) == 0 {
		return nil
	}
	if err := accounts.EnsureMandatory(ctx, r.writer.Config, account, namespace); err != nil {
		return err
	}
	names := make([]string, 0, len(mandatory))
	for _, ti := range mandatory {
		names = append(names, ti.Name)
	}
	if err := accounts.WaitDeployed(ctx, r.writer.Config, namespace, names, readyTimeout); err != nil {
		return apierrors.NewInternalError(fmt.Errorf("space %s: %w", namespace, err))
	}
	return nil
}

// undo removes a namespace a failed create made.
func (r *REST) undo(ns *corev1.Namespace) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := r.writer.Kube.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &ns.UID}})
	if err != nil && !apierrors.IsNotFound(err) {
		klog.ErrorS(err, "Removing the namespace of a failed Space create", "space", ns.Name)
	}
}

// Delete deletes the namespace of a Space, for callers who may delete that namespace.
func (r *REST) Delete(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc, options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	obj, err := r.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, false, err
	}
	u, err := userFrom(ctx)
	if err != nil {
		return nil, false, err
	}
	ok, err := r.visibility.Allowed(ctx, authorizer.AttributesRecord{
		User: u, Verb: "delete", Resource: "namespaces", Name: name, Namespace: name, ResourceRequest: true})
	if err != nil {
		return nil, false, err
	}
	if !ok {
		return nil, false, apierrors.NewForbidden(tenancy.Resource("spaces"), name,
			fmt.Errorf("User %q cannot delete resource \"namespaces\" in API group \"\" in the namespace %q", u.GetName(), name))
	}
	if deleteValidation != nil {
		if err := deleteValidation(ctx, obj); err != nil {
			return nil, false, err
		}
	}
	s := obj.(*tenancy.Space)
	opts := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &s.UID}}
	if options != nil {
		opts.DryRun = options.DryRun
		opts.PropagationPolicy = options.PropagationPolicy
		opts.GracePeriodSeconds = options.GracePeriodSeconds
	}
	if err := r.writer.Kube.CoreV1().Namespaces().Delete(ctx, name, opts); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, false, apierrors.NewNotFound(tenancy.Resource("spaces"), name)
		}
		return nil, false, err
	}
	if len(opts.DryRun) == 0 && s.Spec.Account != "" {
		r.release(s.Spec.Account, name)
	}
	s.Status.Phase = corev1.NamespaceTerminating
	return s, false, nil
}
