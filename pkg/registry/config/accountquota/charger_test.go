package accountquota_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/config/accountquota"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/raw"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/registrytest"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/scheme"
)

// chargerFixture is the API's storage and a Charger on the same etcd, holding quotas "a"
// and "b".
func chargerFixture(t *testing.T) (*accountquota.REST, *accountquota.Charger) {
	t.Helper()
	getter := registrytest.Getter{Options: registrytest.RESTOptions(t, "accountquotas")}
	store, _, err := accountquota.NewREST(scheme.Scheme, getter)
	require.NoError(t, err)
	t.Cleanup(store.Store.DestroyFunc)
	for _, name := range []string{"a", "b"} {
		q := validQuota()
		q.Name = name
		_, err := store.Create(apiCtx(), q, rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
		require.NoError(t, err)
	}
	charger, err := accountquota.NewCharger(getter, "test", nil)
	require.NoError(t, err)
	t.Cleanup(charger.Destroy)
	return store, charger
}

func apiCtx() context.Context {
	return genericapirequest.WithNamespace(genericapirequest.NewContext(), metav1.NamespaceNone)
}

// charge is a Swap that sets the pods used by quota name from version prev.
func charge(t *testing.T, c *accountquota.Charger, name string, prev *raw.Stored, pods string) raw.Swap {
	t.Helper()
	q := accountquota.Quota(prev).DeepCopy()
	q.Status.Total.Used = corev1.ResourceList{corev1.ResourcePods: resource.MustParse(pods)}
	next, err := c.Next(context.Background(), name, q)
	require.NoError(t, err)
	return raw.Swap{Name: name, Prev: prev, Next: next}
}

func used(t *testing.T, store *accountquota.REST, name string) string {
	t.Helper()
	obj, err := store.Get(apiCtx(), name, &metav1.GetOptions{})
	require.NoError(t, err)
	q := obj.(*config.AccountQuota)
	pods := q.Status.Total.Used[corev1.ResourcePods]
	return pods.String()
}

func TestCommitIsSeenByTheAPI(t *testing.T) {
	store, c := chargerFixture(t)
	ctx := context.Background()
	a, err := c.Current(ctx, "a", false)
	require.NoError(t, err)
	require.NotNil(t, a)
	stored, err := c.Commit(ctx, charge(t, c, "a", a, "1"))
	require.NoError(t, err)
	require.True(t, stored)
	assert.Equal(t, "1", used(t, store, "a"))
	obj, err := store.Get(apiCtx(), "a", &metav1.GetOptions{})
	require.NoError(t, err)
	q := obj.(*config.AccountQuota)
	assert.NotEqual(t, accountquota.Quota(a).ResourceVersion, q.ResourceVersion)
	require.Len(t, q.ManagedFields, 1)
	assert.Equal(t, "test", q.ManagedFields[0].Manager)
	assert.Equal(t, "status", q.ManagedFields[0].Subresource)
}

func TestCommitStoresAllOrNothing(t *testing.T) {
	store, c := chargerFixture(t)
	ctx := context.Background()
	a, err := c.Current(ctx, "a", false)
	require.NoError(t, err)
	b, err := c.Current(ctx, "b", false)
	require.NoError(t, err)
	// Another writer changes b after this Charger read it.
	stored, err := c.Commit(ctx, charge(t, c, "b", b, "5"))
	require.NoError(t, err)
	require.True(t, stored)
	stored, err = c.Commit(ctx, charge(t, c, "a", a, "1"), charge(t, c, "b", b, "1"))
	require.NoError(t, err)
	assert.False(t, stored, "a write decided on a version of b that is no longer stored")
	assert.Equal(t, "0", used(t, store, "a"), "a was written though b was not")
	assert.Equal(t, "5", used(t, store, "b"))
	// A Swap without Next only compares.
	stored, err = c.Commit(ctx, charge(t, c, "a", a, "1"), raw.Swap{Name: "b", Prev: b})
	require.NoError(t, err)
	assert.False(t, stored)
	assert.Equal(t, "0", used(t, store, "a"))
	// After losing, the Charger reads the current versions again.
	b, err = c.Current(ctx, "b", false)
	require.NoError(t, err)
	stored, err = c.Commit(ctx, charge(t, c, "a", a, "1"), raw.Swap{Name: "b", Prev: b})
	require.NoError(t, err)
	assert.True(t, stored)
	assert.Equal(t, "1", used(t, store, "a"))
}

func TestCommitNeverRecreatesADeletedQuota(t *testing.T) {
	store, c := chargerFixture(t)
	ctx := context.Background()
	a, err := c.Current(ctx, "a", false)
	require.NoError(t, err)
	_, _, err = store.Delete(apiCtx(), "a", rest.ValidateAllObjectFunc, &metav1.DeleteOptions{})
	require.NoError(t, err)
	stored, err := c.Commit(ctx, charge(t, c, "a", a, "1"))
	require.NoError(t, err)
	assert.False(t, stored)
	_, err = store.Get(apiCtx(), "a", &metav1.GetOptions{})
	assert.True(t, err != nil, "the charge recreated a deleted quota")
	gone, err := c.Current(ctx, "a", false)
	require.NoError(t, err)
	assert.Nil(t, gone)
}
