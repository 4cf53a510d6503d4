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
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/client-go/kubernetes"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/accounts"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy/reservation"
)

// readyTimeout bounds how long a create waits for its caller to be able to use the Space.
const readyTimeout = 10 * time.Second

// AccountGetter reads the Account of a new Space as v1alpha1; accounts.Reader is the
// server's.
type AccountGetter interface {
	Get(ctx context.Context, name string) (*configv1alpha1.Account, error)
}

// Reserver holds Space limits: it takes the place of a new Space under its Account's limit,
// and gives it back when the create fails or the Space goes away. reservation.Ledger is the
// server's.
type Reserver interface {
	Reserve(ctx context.Context, account, name string, limit int32, existing []string, dryRun bool) error
	Release(ctx context.Context, account, name string) error
}

var (
	_ AccountGetter = accounts.Reader{}
	_ Reserver      = &reservation.Ledger{}
)

// Writer creates and deletes the namespaces behind Spaces.
type Writer struct {
	Kube kubernetes.Interface
	// Accounts reads the Accounts of new Spaces.
	Accounts AccountGetter
	// Reservations hold Space limits across replicas.
	Reservations Reserver
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
// Account's labels, annotations and RoleBinding, and returns once the caller can use it. It
// checks the request and settles the namespace's labels; the creator makes the Space, and on
// any failure removes what it made.
func (r *REST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	u, err := userFrom(ctx)
	if err != nil {
		return nil, err
	}
	s := obj.(*tenancy.Space)
	if errs := validateNew(s); len(errs) > 0 {
		return nil, apierrors.NewInvalid(tenancy.Kind("Space"), s.Name, errs)
	}
	// The admission chain checks the caller may create a Space for the Account
	// (SpaceAccount) and refuses early when the Account has no place left (SpaceLimit);
	// the creator takes the place.
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
		if err := r.creator().reserve(ctx, u, account, ns.Name, true); err != nil {
			return nil, err
		}
		return FromNamespace(ns), nil
	}
	created, err := r.creator().create(ctx, u, ns, account)
	if err != nil {
		return nil, err
	}
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

// mergeSpaceTemplate sets the Account's spaceTemplate labels and annotations, and those of
// its spec.isolation, on a new namespace. The Account's values win over those of the Space.
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
	accounts.ApplyIsolation(ns, accounts.Isolation(account))
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
		r.creator().release(s.Spec.Account, name)
	}
	s.Status.Phase = corev1.NamespaceTerminating
	return s, false, nil
}
