package account_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	genericregistrytest "k8s.io/apiserver/pkg/registry/generic/testing"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/config/account"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/registrytest"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/status"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/scheme"
)

func newStorage(t *testing.T) (*account.REST, *status.REST) {
	t.Helper()
	store, statusStore, err := account.NewREST(scheme.Scheme, registrytest.Getter{Options: registrytest.RESTOptions(t, "accounts")})
	require.NoError(t, err)
	t.Cleanup(store.Store.DestroyFunc)
	return store, statusStore
}

func validAccount() *config.Account {
	return &config.Account{
		ObjectMeta: metav1.ObjectMeta{Name: "node-account", Labels: map[string]string{"team": "node"}},
		Spec:       config.AccountSpec{Subjects: []rbacv1.Subject{{Kind: "User", Name: "dev", APIGroup: rbacv1.GroupName}}},
	}
}

// tester returns the standard registry tests on a fresh store, so that tests don't share names.
func tester(t *testing.T) *genericregistrytest.Tester {
	store, _ := newStorage(t)
	return genericregistrytest.New(t, store.Store).ClusterScope()
}

func TestCreate(t *testing.T) {
	invalid := validAccount()
	invalid.Spec.Subjects[0].Kind = "Robot"
	tester(t).TestCreate(validAccount(), invalid)
}

func TestUpdate(t *testing.T) {
	tester(t).TestUpdate(validAccount(),
		func(obj runtime.Object) runtime.Object {
			a := obj.(*config.Account)
			a.Spec.Space.Limit = ptr.To[int32](3)
			return a
		},
		func(obj runtime.Object) runtime.Object {
			a := obj.(*config.Account)
			a.Spec.Space.Limit = ptr.To[int32](-1)
			return a
		})
}

func TestDelete(t *testing.T) { tester(t).TestDelete(validAccount()) }

func TestGet(t *testing.T) { tester(t).TestGet(validAccount()) }

func TestList(t *testing.T) { tester(t).TestList(validAccount()) }

func TestWatch(t *testing.T) {
	tester(t).TestWatch(validAccount(),
		[]labels.Set{{"team": "node"}}, []labels.Set{{"team": "redis"}},
		[]fields.Set{{"metadata.name": "node-account"}}, []fields.Set{{"metadata.name": "other"}})
}

func TestStatusIsolation(t *testing.T) {
	store, statusStore := newStorage(t)
	ctx := genericregistrytest.NewClusterScopeContext(store.Store)
	in := validAccount()
	in.Status.Namespaces = []config.AccountNamespaceStatus{{Name: "ignored"}}
	obj, err := store.Create(ctx, in, rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
	require.NoError(t, err)
	created := obj.(*config.Account)
	assert.Empty(t, created.Status.Namespaces)
	assert.EqualValues(t, 1, created.Generation)

	withStatus := created.DeepCopy()
	withStatus.Status.Namespaces = []config.AccountNamespaceStatus{{Name: "node-space"}}
	withStatus.Spec.Space.Limit = ptr.To[int32](9)
	obj, _, err = statusStore.Update(ctx, created.Name, rest.DefaultUpdatedObjectInfo(withStatus),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
	require.NoError(t, err)
	got := obj.(*config.Account)
	assert.Nil(t, got.Spec.Space.Limit, "/status must not change spec")
	assert.Equal(t, []config.AccountNamespaceStatus{{Name: "node-space"}}, got.Status.Namespaces)
	assert.EqualValues(t, 1, got.Generation)

	spec := got.DeepCopy()
	spec.Spec.Space.Limit = ptr.To[int32](2)
	spec.Status.Namespaces = nil
	obj, _, err = store.Update(ctx, spec.Name, rest.DefaultUpdatedObjectInfo(spec),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
	require.NoError(t, err)
	got = obj.(*config.Account)
	assert.EqualValues(t, 2, *got.Spec.Space.Limit)
	assert.Equal(t, []config.AccountNamespaceStatus{{Name: "node-space"}}, got.Status.Namespaces, "main resource must not change status")
	assert.EqualValues(t, 2, got.Generation)

	// The first object's resourceVersion is stale now.
	_, _, err = store.Update(ctx, created.Name, rest.DefaultUpdatedObjectInfo(created),
		rest.ValidateAllObjectFunc, rest.ValidateAllObjectUpdateFunc, false, &metav1.UpdateOptions{})
	assert.True(t, apierrors.IsConflict(err), "stale update: %v", err)

	v1 := fieldpath.APIVersion("config.kiosk.sh/v1alpha1")
	assert.True(t, store.GetResetFields()[v1].Has(fieldpath.MakePathOrDie("status")), "apply to the resource resets status")
	assert.True(t, statusStore.GetResetFields()[v1].Has(fieldpath.MakePathOrDie("spec")), "apply to /status resets spec")
}

func TestTable(t *testing.T) {
	store, _ := newStorage(t)
	a := validAccount()
	a.Spec.Space.Limit = ptr.To[int32](2)
	a.Status.Namespaces = []config.AccountNamespaceStatus{{Name: "x"}, {Name: "y"}}
	table, err := store.ConvertToTable(context.Background(), &config.AccountList{Items: []config.Account{*a}}, nil)
	require.NoError(t, err)
	var names []string
	for _, c := range table.ColumnDefinitions {
		names = append(names, c.Name)
	}
	assert.Equal(t, []string{"Name", "Spaces", "Age", "Subjects", "Limit"}, names)
	require.Len(t, table.Rows, 1)
	assert.Equal(t, []interface{}{"node-account", int64(2), "<unknown>", int64(1), "2"}, table.Rows[0].Cells)
}
