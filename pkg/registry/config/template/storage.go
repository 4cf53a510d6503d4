package template

import (
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/config/resource"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/table"
)

// REST stores Templates.
type REST struct {
	*genericregistry.Store
}

var (
	_ rest.StandardStorage      = &REST{}
	_ rest.CategoriesProvider   = &REST{}
	_ rest.SingularNameProvider = &REST{}
)

// NewREST returns the storage of Templates.
func NewREST(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter) (*REST, error) {
	s := NewStrategy(scheme)
	store, err := resource.NewStore(s, resource.Store{
		Plural: "templates", Singular: "template",
		New:     func() runtime.Object { return &config.Template{} },
		NewList: func() runtime.Object { return &config.TemplateList{} },
		Table:   table.New(columns, cells),
	}, optsGetter)
	if err != nil {
		return nil, err
	}
	return &REST{store}, nil
}

// Categories puts Templates in "kubectl get kiosk".
func (r *REST) Categories() []string { return []string{"kiosk"} }

var columns = []metav1.TableColumnDefinition{
	table.NameColumn,
	table.AgeColumn,
	{Name: "Manifests", Type: "integer", Priority: 1, Description: "Number of manifests in the Template."},
	{Name: "Helm", Type: "string", Priority: 1, Description: "The Helm chart the Template renders."},
	{Name: "Parameters", Type: "integer", Priority: 1, Description: "Number of parameters of the Template."},
}

func cells(obj runtime.Object) ([]interface{}, error) {
	t, ok := obj.(*config.Template)
	if !ok {
		return nil, fmt.Errorf("not a Template: %T", obj)
	}
	chart := "<none>"
	if h := t.Resources.Helm; h != nil && h.Chart.Repository != nil {
		chart = h.Chart.Repository.Name
		if h.Chart.Repository.Version != "" {
			chart += "@" + h.Chart.Repository.Version
		}
	}
	return []interface{}{t.Name, table.Age(t.CreationTimestamp), int64(len(t.Resources.Manifests)), chart, int64(len(t.Parameters))}, nil
}
