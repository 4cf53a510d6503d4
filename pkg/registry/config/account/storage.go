package account

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/config/resource"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/status"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/table"
)

// REST stores Accounts.
type REST struct {
	*genericregistry.Store
}

var (
	_ rest.StandardStorage      = &REST{}
	_ rest.ShortNamesProvider   = &REST{}
	_ rest.CategoriesProvider   = &REST{}
	_ rest.SingularNameProvider = &REST{}
)

// NewREST returns the storage of Accounts and of their /status subresource.
func NewREST(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter) (*REST, *status.REST, error) {
	s := NewStrategy(scheme)
	store, err := resource.NewStore(s, resource.Store{
		Plural: "accounts", Singular: "account",
		New:     func() runtime.Object { return &config.Account{} },
		NewList: func() runtime.Object { return &config.AccountList{} },
		Table:   table.New(columns, cells),
	}, optsGetter)
	if err != nil {
		return nil, nil, err
	}
	return &REST{store}, status.NewREST(store, s.StatusStrategy()), nil
}

// ShortNames lets kubectl find Accounts as "acc".
func (r *REST) ShortNames() []string { return []string{"acc"} }

// Categories puts Accounts in "kubectl get kiosk".
func (r *REST) Categories() []string { return []string{"kiosk"} }

var columns = []metav1.TableColumnDefinition{
	table.NameColumn,
	{Name: "Spaces", Type: "integer", Description: "Number of Spaces the Account owns."},
	table.AgeColumn,
	{Name: "Subjects", Type: "integer", Priority: 1, Description: "Number of users, groups and service accounts of the Account."},
	{Name: "Limit", Type: "string", Priority: 1, Description: "Largest number of Spaces the Account may own."},
}

func cells(obj runtime.Object) ([]interface{}, error) {
	a, ok := obj.(*config.Account)
	if !ok {
		return nil, fmt.Errorf("not an Account: %T", obj)
	}
	limit := "<none>"
	if a.Spec.Space.Limit != nil {
		limit = fmt.Sprint(*a.Spec.Space.Limit)
	}
	return []interface{}{a.Name, int64(len(a.Status.Namespaces)), table.Age(a.CreationTimestamp), int64(len(a.Spec.Subjects)), limit}, nil
}
