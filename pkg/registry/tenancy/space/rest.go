// Package space serves tenancy.kiosk.sh Spaces: the namespaces labelled kiosk.sh/account,
// each shown only to the users who may get it.
package space

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	corelisters "k8s.io/client-go/listers/core/v1"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/table"
	tenancyregistry "github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy"
)

// REST serves Spaces.
type REST struct {
	namespaces corelisters.NamespaceLister
	visibility tenancyregistry.Visibility
	writer     Writer
	*table.Convertor
}

var (
	_ rest.Storage              = &REST{}
	_ rest.Scoper               = &REST{}
	_ rest.Getter               = &REST{}
	_ rest.Lister               = &REST{}
	_ rest.SingularNameProvider = &REST{}
	_ rest.CategoriesProvider   = &REST{}
)

// NewREST returns the Space storage over a namespace lister.
func NewREST(namespaces corelisters.NamespaceLister, visibility tenancyregistry.Visibility, writer Writer) *REST {
	return &REST{namespaces: namespaces, visibility: visibility, writer: writer, Convertor: table.New(columns, cells)}
}

// New returns an empty Space.
func (r *REST) New() runtime.Object { return &tenancy.Space{} }

// NewList returns an empty SpaceList.
func (r *REST) NewList() runtime.Object { return &tenancy.SpaceList{} }

// Destroy releases nothing: the namespace informer belongs to the server.
func (r *REST) Destroy() {}

// NamespaceScoped is false: Spaces are cluster-scoped.
func (r *REST) NamespaceScoped() bool { return false }

// GetSingularName returns "space".
func (r *REST) GetSingularName() string { return "space" }

// Categories puts Spaces in "kubectl get kiosk".
func (r *REST) Categories() []string { return []string{"kiosk"} }

func userFrom(ctx context.Context) (user.Info, error) {
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return nil, apierrors.NewUnauthorized("no user in the request")
	}
	return u, nil
}

// Get returns a Space the caller may see; any other name is NotFound, so that existence
// does not leak.
func (r *REST) Get(ctx context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	u, err := userFrom(ctx)
	if err != nil {
		return nil, err
	}
	notFound := apierrors.NewNotFound(tenancy.Resource("spaces"), name)
	ns, err := r.namespaces.Get(name)
	if apierrors.IsNotFound(err) || (err == nil && ns.Labels[configv1alpha1.AccountLabel] == "") {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	all, err := r.visibility.SeesAllSpaces(ctx, u)
	if err != nil {
		return nil, err
	}
	if !all {
		seen, err := r.visibility.SeesSpace(ctx, u, name)
		if err != nil {
			return nil, err
		}
		if !seen {
			return nil, notFound
		}
	}
	return FromNamespace(ns), nil
}

// List returns the Spaces the caller may see that match the selectors, sorted by name.
func (r *REST) List(ctx context.Context, options *metainternalversion.ListOptions) (runtime.Object, error) {
	u, err := userFrom(ctx)
	if err != nil {
		return nil, err
	}
	spaceSelector := labels.NewSelector()
	req, err := labels.NewRequirement(configv1alpha1.AccountLabel, selection.Exists, nil)
	if err != nil {
		return nil, err
	}
	namespaces, err := r.namespaces.List(spaceSelector.Add(*req))
	if err != nil {
		return nil, err
	}
	all, err := r.visibility.SeesAllSpaces(ctx, u)
	if err != nil {
		return nil, err
	}
	label, field := labels.Everything(), fields.Everything()
	if options != nil && options.LabelSelector != nil {
		label = options.LabelSelector
	}
	if options != nil && options.FieldSelector != nil {
		field = options.FieldSelector
	}
	list := &tenancy.SpaceList{}
	for _, ns := range namespaces {
		s := FromNamespace(ns)
		if !label.Matches(labels.Set(s.Labels)) || !field.Matches(Fields(s)) {
			continue
		}
		if !all {
			seen, err := r.visibility.SeesSpace(ctx, u, ns.Name)
			if err != nil {
				return nil, err
			}
			if !seen {
				continue
			}
		}
		list.Items = append(list.Items, *s)
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	return list, nil
}

// Fields are the fields a Space can be selected by.
func Fields(s *tenancy.Space) fields.Set {
	return fields.Set{
		"metadata.name": s.Name,
		"spec.account":  s.Spec.Account,
		"status.phase":  string(s.Status.Phase),
	}
}

var columns = []metav1.TableColumnDefinition{
	table.NameColumn,
	{Name: "Account", Type: "string", Description: "The Account that owns the Space."},
	{Name: "Phase", Type: "string", Description: "Active or Terminating."},
	table.AgeColumn,
}

func cells(obj runtime.Object) ([]interface{}, error) {
	s, ok := obj.(*tenancy.Space)
	if !ok {
		return nil, fmt.Errorf("not a Space: %T", obj)
	}
	phase := s.Status.Phase
	if phase == "" {
		phase = corev1.NamespaceActive
	}
	return []interface{}{s.Name, s.Spec.Account, string(phase), table.Age(s.CreationTimestamp)}, nil
}
