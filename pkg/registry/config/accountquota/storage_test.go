package accountquota_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	genericregistrytest "k8s.io/apiserver/pkg/registry/generic/testing"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/config/accountquota"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/registrytest"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/scheme"
)

func newStorage(t *testing.T) *accountquota.REST {
	t.Helper()
	store, _, err := accountquota.NewREST(scheme.Scheme, registrytest.Getter{Options: registrytest.RESTOptions(t, "accountquotas")})
	require.NoError(t, err)
	t.Cleanup(store.Store.DestroyFunc)
	return store
}

func tester(t *testing.T) *genericregistrytest.Tester {
	return genericregistrytest.New(t, newStorage(t).Store).ClusterScope()
}

func validQuota() *config.AccountQuota {
	return &config.AccountQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "default-user-limits", Labels: map[string]string{"tier": "dev"}},
		Spec: config.AccountQuotaSpec{Account: "node-account", Quota: corev1.ResourceQuotaSpec{
			Hard: corev1.ResourceList{"pods": resource.MustParse("2"), "limits.cpu": resource.MustParse("4")},
		}},
	}
}

func TestCreate(t *testing.T) {
	invalid := validQuota()
	invalid.Spec.Account = ""
	tester(t).TestCreate(validQuota(), invalid)
}

func TestUpdate(t *testing.T) {
	tester(t).TestUpdate(validQuota(),
		func(obj runtime.Object) runtime.Object {
			q := obj.(*config.AccountQuota)
			q.Spec.Quota.Hard["pods"] = resource.MustParse("5")
			return q
		},
		func(obj runtime.Object) runtime.Object {
			q := obj.(*config.AccountQuota)
			q.Spec.Account = "redis-account"
			return q
		})
}

func TestDelete(t *testing.T) { tester(t).TestDelete(validQuota()) }

func TestGet(t *testing.T) { tester(t).TestGet(validQuota()) }

func TestList(t *testing.T) { tester(t).TestList(validQuota()) }

func TestWatch(t *testing.T) {
	tester(t).TestWatch(validQuota(),
		[]labels.Set{{"tier": "dev"}}, []labels.Set{{"tier": "prod"}},
		[]fields.Set{{"metadata.name": "default-user-limits"}, {"spec.account": "node-account"}},
		[]fields.Set{{"metadata.name": "other"}, {"spec.account": "redis-account"}})
}

func TestTable(t *testing.T) {
	q := validQuota()
	q.Status.Total.Used = corev1.ResourceList{"pods": resource.MustParse("1")}
	table, err := newStorage(t).ConvertToTable(context.Background(), q, nil)
	require.NoError(t, err)
	var names []string
	for _, c := range table.ColumnDefinitions {
		names = append(names, c.Name)
	}
	assert.Equal(t, []string{"Name", "Account", "Age", "Hard", "Used"}, names)
	assert.Equal(t, []interface{}{"default-user-limits", "node-account", "<unknown>", "limits.cpu: 4, pods: 2", "pods: 1"}, table.Rows[0].Cells)
}
