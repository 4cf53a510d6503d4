package accountquota

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
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

// REST stores AccountQuotas.
type REST struct {
	*genericregistry.Store
}

var (
	_ rest.StandardStorage      = &REST{}
	_ rest.ShortNamesProvider   = &REST{}
	_ rest.CategoriesProvider   = &REST{}
	_ rest.SingularNameProvider = &REST{}
)

// NewREST returns the storage of AccountQuotas and of their /status subresource.
func NewREST(scheme *runtime.Scheme, optsGetter generic.RESTOptionsGetter) (*REST, *status.REST, error) {
	s := NewStrategy(scheme)
	store, err := resource.NewStore(s, resource.Store{
		Plural: "accountquotas", Singular: "accountquota",
		New:     func() runtime.Object { return &config.AccountQuota{} },
		NewList: func() runtime.Object { return &config.AccountQuotaList{} },
		Table:   table.New(columns, cells),
	}, optsGetter)
	if err != nil {
		return nil, nil, err
	}
	return &REST{store}, status.NewREST(store, s.StatusStrategy()), nil
}

// ShortNames lets kubectl find AccountQuotas as "aq".
func (r *REST) ShortNames() []string { return []string{"aq"} }

// Categories puts AccountQuotas in "kubectl get kiosk".
func (r *REST) Categories() []string { return []string{"kiosk"} }

var columns = []metav1.TableColumnDefinition{
	table.NameColumn,
	{Name: "Account", Type: "string", Description: "The Account the quota applies to."},
	table.AgeColumn,
	{Name: "Hard", Type: "string", Priority: 1, Description: "The hard limits."},
	{Name: "Used", Type: "string", Priority: 1, Description: "The usage summed over the Account's Spaces."},
}

func cells(obj runtime.Object) ([]interface{}, error) {
	q, ok := obj.(*config.AccountQuota)
	if !ok {
		return nil, fmt.Errorf("not an AccountQuota: %T", obj)
	}
	return []interface{}{q.Name, q.Spec.Account, table.Age(q.CreationTimestamp), formatList(q.Spec.Quota.Hard), formatList(q.Status.Total.Used)}, nil
}

// formatList prints a resource list as kubectl prints quota: "limits.cpu: 4, pods: 2".
func formatList(l corev1.ResourceList) string {
	if len(l) == 0 {
		return "<none>"
	}
	names := make([]string, 0, len(l))
	for n := range l {
		names = append(names, string(n))
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		q := l[corev1.ResourceName(n)]
		parts = append(parts, n+": "+q.String())
	}
	return strings.Join(parts, ", ")
}
