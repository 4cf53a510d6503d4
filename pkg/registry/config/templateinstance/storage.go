package templateinstance

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

// REST stores TemplateInstances.
type REST struct {
	*genericregistry.Store
}

var (
	_ rest.StandardStorage      = &REST{}
	_ rest.ShortNamesProvider   = &REST{}
	_ rest.CategoriesProvider   = &REST{}
	_ rest.SingularNameProvider = &REST{}
)

// NewREST returns the storage of TemplateInstances and of their /status subresource.
func NewREST(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter) (*REST, *status.REST, error) {
	s := NewStrategy(scheme)
	store, err := resource.NewStore(s, resource.Store{
		Plural: "templateinstances", Singular: "templateinstance",
		New:     func() runtime.Object { return &config.TemplateInstance{} },
		NewList: func() runtime.Object { return &config.TemplateInstanceList{} },
		Table:   table.New(columns, cells),
	}, optsGetter)
	if err != nil {
		return nil, nil, err
	}
	return &REST{store}, status.NewREST(store, s.StatusStrategy()), nil
}

// ShortNames lets kubectl find TemplateInstances as "ti".
func (r *REST) ShortNames() []string { return []string{"ti"} }

// Categories puts TemplateInstances in "kubectl get kiosk".
func (r *REST) Categories() []string { return []string{"kiosk"} }

var columns = []metav1.TableColumnDefinition{
	table.NameColumn,
	{Name: "Template", Type: "string", Description: "The Template applied."},
	{Name: "Status", Type: "string", Description: "Pending, Deployed or Failed."},
	table.AgeColumn,
	{Name: "Reason", Type: "string", Priority: 1, Description: "Why the instance is in its state."},
	{Name: "Sync", Type: "boolean", Priority: 1, Description: "Whether Template changes are re-applied."},
}

func cells(obj runtime.Object) ([]interface{}, error) {
	ti, ok := obj.(*config.TemplateInstance)
	if !ok {
		return nil, fmt.Errorf("not a TemplateInstance: %T", obj)
	}
	return []interface{}{ti.Name, ti.Spec.Template, string(ti.Status.Status), table.Age(ti.CreationTimestamp), ti.Status.Reason, ti.Spec.Sync}, nil
}
