package templateinstance

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

func instance(namespace, name string, uid types.UID, applied ...configv1alpha1.AppliedObject) *configv1alpha1.TemplateInstance {
	return &configv1alpha1.TemplateInstance{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, UID: uid},
		Status:     configv1alpha1.TemplateInstanceStatus{AppliedObjects: applied},
	}
}

func quota(uid types.UID, managers ...string) *unstructured.Unstructured {
	q := &unstructured.Unstructured{}
	q.SetAPIVersion("v1")
	q.SetKind("ResourceQuota")
	q.SetNamespace("space")
	q.SetName("q")
	q.SetUID(uid)
	var fields []metav1.ManagedFieldsEntry
	for _, m := range managers {
		fields = append(fields, metav1.ManagedFieldsEntry{Manager: m, Operation: metav1.ManagedFieldsOperationApply})
	}
	q.SetManagedFields(fields)
	return q
}

func TestInstanceFieldManager(t *testing.T) {
	short := instance("space", "limits", "0b8d-uid")
	assert.Equal(t, "tenancy-apiserver/space/limits/0b8d-uid", InstanceFieldManager(short))
	assert.Equal(t, types.UID("0b8d-uid"), instanceUID(InstanceFieldManager(short)))

	long := instance(strings.Repeat("n", 63), strings.Repeat("x", 253), "6c1b3c2e-6f3d-4c55-9a1e-0f7e2b6a9d11")
	m := InstanceFieldManager(long)
	assert.LessOrEqual(t, len(m), maxFieldManager)
	assert.Equal(t, "tenancy-apiserver/6c1b3c2e-6f3d-4c55-9a1e-0f7e2b6a9d11", m)
	assert.Equal(t, long.UID, instanceUID(m))

	for _, m := range []string{"tenancy-apiserver", "kubectl-client-side-apply", "tenancy-apiserver-admission"} {
		assert.Empty(t, instanceUID(m), m)
	}
}

func TestOtherOwners(t *testing.T) {
	mine := instance("space", "mine", "uid-mine")
	applied := configv1alpha1.AppliedObject{APIVersion: "v1", Kind: "ResourceQuota", Namespace: "space", Name: "q", UID: "uid-q"}
	mandatory := instance("space", "limits", "uid-limits", applied)
	stale := applied
	stale.UID = "uid-old-q"
	earlier := instance("space", "earlier", "uid-earlier", stale)
	indexer := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{byUID: indexByUID, byApplied: indexByApplied})
	for _, ti := range []*configv1alpha1.TemplateInstance{mine, mandatory, earlier} {
		require.NoError(t, indexer.Add(ti))
	}
	guard := instance("space", "guard", "uid-guard")
	guard.Annotations = map[string]string{configv1alpha1.MandatoryAnnotation: "true"}
	otherGuard := instance("space", "other-guard", "uid-other-guard")
	otherGuard.Annotations = map[string]string{configv1alpha1.MandatoryAnnotation: "true"}
	require.NoError(t, indexer.Add(guard))
	require.NoError(t, indexer.Add(otherGuard))
	c := &Controller{indexer: indexer}

	for _, tc := range []struct {
		name string
		ti   *configv1alpha1.TemplateInstance
		live *unstructured.Unstructured
		want []string
	}{
		{"managed by another instance", mine, quota("uid-other", InstanceFieldManager(mandatory)), []string{"space/limits"}},
		{"listed by another instance", mine, quota("uid-q", "tenancy-apiserver"), []string{"space/limits"}},
		{"the owner itself, applied by an earlier version", mandatory, quota("uid-q", "tenancy-apiserver"), []string{}},
		{"the owner itself", mandatory, quota("uid-q", InstanceFieldManager(mandatory), "kubectl-edit"), []string{}},
		{"a manager of an instance that is gone", mine, quota("uid-new", "tenancy-apiserver/space/gone/uid-gone"), []string{}},
		{"listed with another UID: an object since replaced", mine, quota("uid-new"), []string{}},
		{"both ways", earlier, quota("uid-q", InstanceFieldManager(mine)), []string{"space/limits", "space/mine"}},
		{"a mandatory instance takes over from a tenant's", guard, quota("uid-q", InstanceFieldManager(mine)), []string{}},
		{"but not from another mandatory instance", guard, quota("uid-q", InstanceFieldManager(mine), InstanceFieldManager(otherGuard)), []string{"space/other-guard"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, c.otherOwners(tc.ti, tc.live))
		})
	}
}
