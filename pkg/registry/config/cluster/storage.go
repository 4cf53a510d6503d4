package cluster

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

// REST stores Clusters.
type REST struct {
	*genericregistry.Store
}

var (
	_ rest.StandardStorage      = &REST{}
	_ rest.CategoriesProvider   = &REST{}
	_ rest.SingularNameProvider = &REST{}
)

// NewREST returns the storage of Clusters and of their /status subresource.
func NewREST(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter) (*REST, *status.REST, error) {
	s := NewStrategy(scheme)
	store, err := resource.NewStore(s, resource.Store{
		Plural: "clusters", Singular: "cluster",
		New:     func() runtime.Object { return &config.Cluster{} },
		NewList: func() runtime.Object { return &config.ClusterList{} },
		Table:   table.New(columns, cells),
	}, optsGetter)
	if err != nil {
		return nil, nil, err
	}
	return &REST{store}, status.NewREST(store, s.StatusStrategy()), nil
}

// Categories puts Clusters in "kubectl get kiosk".
func (r *REST) Categories() []string { return []string{"kiosk"} }

var columns = []metav1.TableColumnDefinition{
	table.NameColumn,
	{Name: "Server", Type: "string", Description: "The member's kube-apiserver."},
	{Name: "Reachable", Type: "boolean", Description: "Whether the member answered the hub's credentials at the last probe."},
	{Name: "Version", Type: "string", Description: "The member kube-apiserver's version."},
	{Name: "Tenancy", Type: "boolean", Description: "Whether the member serves tenancy.kiosk.sh."},
	table.AgeColumn,
	{Name: "Message", Type: "string", Priority: 1, Description: "Why the member is not reachable or serves no tenancy.kiosk.sh."},
}

func cells(obj runtime.Object) ([]interface{}, error) {
	c, ok := obj.(*config.Cluster)
	if !ok {
		return nil, fmt.Errorf("not a Cluster: %T", obj)
	}
	return []interface{}{c.Name, c.Spec.Server, c.Status.Reachable, c.Status.ServerVersion, c.Status.TenancyAPIServer,
		table.Age(c.CreationTimestamp), c.Status.Message}, nil
}
