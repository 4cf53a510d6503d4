package integration

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	configapply "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/applyconfiguration/config/v1alpha1"
)

func nodeAccount() *configv1alpha1.Account {
	return &configv1alpha1.Account{
		ObjectMeta: metav1.ObjectMeta{Name: "node-account", Labels: map[string]string{"team": "node"}},
		Spec: configv1alpha1.AccountSpec{
			Subjects: []rbacv1.Subject{{Kind: "User", Name: "dev", APIGroup: rbacv1.GroupName}},
			Space:    configv1alpha1.AccountSpace{Limit: ptr.To[int32](2)},
		},
	}
}

func TestDiscovery(t *testing.T) {
	s := startServer(t, t.TempDir())
	resources, err := s.Client.Discovery().ServerResourcesForGroupVersion("config.kiosk.sh/v1alpha1")
	require.NoError(t, err)
	got := map[string]bool{}
	for _, r := range resources.APIResources {
		got[r.Name] = r.Namespaced
	}
	assert.Equal(t, map[string]bool{
		"accounts": false, "accounts/status": false,
		"accountquotas": false, "accountquotas/status": false,
		"clusters": false, "clusters/status": false,
		"templates":         false,
		"templateinstances": true, "templateinstances/status": true,
	}, got)
}

func TestAccountCRUDAndStatusIsolation(t *testing.T) {
	s := startServer(t, t.TempDir())
	ctx := ctxFor(t)
	accounts := s.Client.ConfigV1alpha1().Accounts()

	in := nodeAccount()
	in.Status.Namespaces = []configv1alpha1.AccountNamespaceStatus{{Name: "ignored"}}
	created, err := accounts.Create(ctx, in, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Empty(t, created.Status.Namespaces, "create must ignore status")
	assert.EqualValues(t, 1, created.Generation)

	_, err = accounts.Create(ctx, nodeAccount(), metav1.CreateOptions{})
	assert.True(t, apierrors.IsAlreadyExists(err), "second create: %v", err)

	// The main resource ignores status; the spec change bumps the generation.
	created.Spec.Space.Limit = ptr.To[int32](3)
	created.Status.Namespaces = []configv1alpha1.AccountNamespaceStatus{{Name: "ignored"}}
	updated, err := accounts.Update(ctx, created, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Empty(t, updated.Status.Namespaces)
	assert.EqualValues(t, 2, updated.Generation)

	// A stale resourceVersion conflicts.
	created.Spec.Space.Limit = ptr.To[int32](4)
	_, err = accounts.Update(ctx, created, metav1.UpdateOptions{})
	assert.True(t, apierrors.IsConflict(err), "stale update: %v", err)

	// /status ignores spec.
	updated.Status.Namespaces = []configv1alpha1.AccountNamespaceStatus{{Name: "node-space"}}
	updated.Spec.Space.Limit = ptr.To[int32](9)
	withStatus, err := accounts.UpdateStatus(ctx, updated, metav1.UpdateOptions{})
	require.NoError(t, err)
	assert.Equal(t, []configv1alpha1.AccountNamespaceStatus{{Name: "node-space"}}, withStatus.Status.Namespaces)
	assert.EqualValues(t, 3, *withStatus.Spec.Space.Limit)
	assert.EqualValues(t, 2, withStatus.Generation)

	list, err := accounts.List(ctx, metav1.ListOptions{LabelSelector: "team=node"})
	require.NoError(t, err)
	require.Len(t, list.Items, 1)
	list, err = accounts.List(ctx, metav1.ListOptions{LabelSelector: "team=redis"})
	require.NoError(t, err)
	assert.Empty(t, list.Items)
	list, err = accounts.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=node-account"})
	require.NoError(t, err)
	assert.Len(t, list.Items, 1)

	require.NoError(t, accounts.Delete(ctx, "node-account", metav1.DeleteOptions{}))
	_, err = accounts.Get(ctx, "node-account", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "get after delete: %v", err)
}

func TestValidationNamesTheField(t *testing.T) {
	s := startServer(t, t.TempDir())
	ctx := ctxFor(t)
	bad := nodeAccount()
	bad.Spec.Subjects = []rbacv1.Subject{{Kind: "User", Name: "dev"}}
	_, err := s.Client.ConfigV1alpha1().Accounts().Create(ctx, bad, metav1.CreateOptions{})
	require.True(t, apierrors.IsInvalid(err), "want Invalid, got %v", err)
	assert.Contains(t, err.Error(), "spec.subjects[0].apiGroup")
}

func TestAccountQuotaAndTemplateInstance(t *testing.T) {
	s := startServer(t, t.TempDir())
	ctx := ctxFor(t)
	c := s.Client.ConfigV1alpha1()

	quota := &configv1alpha1.AccountQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "default-user-limits"},
		Spec: configv1alpha1.AccountQuotaSpec{Account: "node-account", Quota: corev1.ResourceQuotaSpec{
			Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("2"), corev1.ResourceLimitsCPU: resource.MustParse("4")},
		}},
	}
	_, err := c.AccountQuotas().Create(ctx, quota, metav1.CreateOptions{})
	require.NoError(t, err)
	other := quota.DeepCopy()
	other.Name, other.Spec.Account = "redis-limits", "redis-account"
	_, err = c.AccountQuotas().Create(ctx, other, metav1.CreateOptions{})
	require.NoError(t, err)
	list, err := c.AccountQuotas().List(ctx, metav1.ListOptions{FieldSelector: "spec.account=node-account"})
	require.NoError(t, err)
	require.Len(t, list.Items, 1)
	assert.Equal(t, "default-user-limits", list.Items[0].Name)

	got := list.Items[0]
	got.Spec.Account = "redis-account"
	_, err = c.AccountQuotas().Update(ctx, &got, metav1.UpdateOptions{})
	require.True(t, apierrors.IsInvalid(err), "spec.account must be immutable, got %v", err)
	assert.Contains(t, err.Error(), "spec.account")

	ti := &configv1alpha1.TemplateInstance{
		ObjectMeta: metav1.ObjectMeta{Name: "limits", Namespace: "node-space"},
		Spec:       configv1alpha1.TemplateInstanceSpec{Template: "space-template"},
	}
	created, err := c.TemplateInstances("node-space").Create(ctx, ti, metav1.CreateOptions{})
	require.NoError(t, err)
	assert.Equal(t, configv1alpha1.TemplateInstanceStatusPending, created.Status.Status)
	tis, err := c.TemplateInstances("").List(ctx, metav1.ListOptions{FieldSelector: "spec.template=space-template"})
	require.NoError(t, err)
	assert.Len(t, tis.Items, 1)
	tis, err = c.TemplateInstances("other").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, tis.Items)
}

func TestWatchAccounts(t *testing.T) {
	s := startServer(t, t.TempDir())
	ctx := ctxFor(t)
	accounts := s.Client.ConfigV1alpha1().Accounts()
	list, err := accounts.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	w, err := accounts.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	require.NoError(t, err)
	defer w.Stop()
	_, err = accounts.Create(ctx, nodeAccount(), metav1.CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, accounts.Delete(ctx, "node-account", metav1.DeleteOptions{}))
	var seen []watch.EventType
	for ev := range w.ResultChan() {
		seen = append(seen, ev.Type)
		if len(seen) == 2 {
			break
		}
	}
	assert.Equal(t, []watch.EventType{watch.Added, watch.Deleted}, seen)
}

func TestTable(t *testing.T) {
	s := startServer(t, t.TempDir())
	ctx := ctxFor(t)
	_, err := s.Client.ConfigV1alpha1().Accounts().Create(ctx, nodeAccount(), metav1.CreateOptions{})
	require.NoError(t, err)
	body, err := s.Client.ConfigV1alpha1().RESTClient().Get().Resource("accounts").
		SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(ctx)
	require.NoError(t, err)
	var table metav1.Table
	require.NoError(t, json.Unmarshal(body, &table))
	var cols []string
	for _, c := range table.ColumnDefinitions {
		cols = append(cols, c.Name)
	}
	assert.Equal(t, []string{"Name", "Spaces", "Age", "Subjects", "Limit"}, cols)
	require.Len(t, table.Rows, 1)
	assert.Equal(t, "node-account", table.Rows[0].Cells[0])
	assert.EqualValues(t, 0, table.Rows[0].Cells[1])
	assert.Equal(t, "2", table.Rows[0].Cells[4])
}

func TestOpenAPIV3(t *testing.T) {
	s := startServer(t, t.TempDir())
	ctx := ctxFor(t)
	body, err := s.Client.Discovery().RESTClient().Get().AbsPath("/openapi/v3/apis/config.kiosk.sh/v1alpha1").DoRaw(ctx)
	require.NoError(t, err)
	var doc struct {
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	require.NoError(t, json.Unmarshal(body, &doc))
	for _, kind := range []string{"Account", "AccountQuota", "Template", "TemplateInstance"} {
		assert.Contains(t, doc.Components.Schemas, "sh.kiosk.config.v1alpha1."+kind, "schema of %s", kind)
	}
	var account struct {
		Properties map[string]json.RawMessage `json:"properties"`
		Extensions []map[string]string        `json:"x-kubernetes-group-version-kind"`
	}
	for n, raw := range doc.Components.Schemas {
		if n == "sh.kiosk.config.v1alpha1.Account" {
			require.NoError(t, json.Unmarshal(raw, &account))
		}
	}
	assert.Contains(t, account.Properties, "spec")
	assert.Contains(t, account.Properties, "status")
}

func TestDryRunWritesNothing(t *testing.T) {
	s := startServer(t, t.TempDir())
	ctx := ctxFor(t)
	accounts := s.Client.ConfigV1alpha1().Accounts()
	out, err := accounts.Create(ctx, nodeAccount(), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	require.NoError(t, err)
	assert.Equal(t, "node-account", out.Name)
	_, err = accounts.Get(ctx, "node-account", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "dry-run create must not persist: %v", err)

	_, err = accounts.Create(ctx, nodeAccount(), metav1.CreateOptions{})
	require.NoError(t, err)
	patch := []byte(`{"spec":{"space":{"limit":7}}}`)
	_, err = accounts.Patch(ctx, "node-account", types.MergePatchType, patch, metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
	require.NoError(t, err)
	require.NoError(t, accounts.Delete(ctx, "node-account", metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}}))
	got, err := accounts.Get(ctx, "node-account", metav1.GetOptions{})
	require.NoError(t, err)
	assert.EqualValues(t, 2, *got.Spec.Space.Limit)
}

func TestServerSideApply(t *testing.T) {
	s := startServer(t, t.TempDir())
	ctx := ctxFor(t)
	accounts := s.Client.ConfigV1alpha1().Accounts()
	apply := configapply.Account("node-account").
		WithSpec(configapply.AccountSpec().WithSpace(configapply.AccountSpace().WithLimit(2)))
	out, err := accounts.Apply(ctx, apply, metav1.ApplyOptions{FieldManager: "admin", Force: true})
	require.NoError(t, err)
	assert.EqualValues(t, 2, *out.Spec.Space.Limit)

	// A second manager owning another field merges; a conflicting one is refused.
	other := configapply.Account("node-account").
		WithSpec(configapply.AccountSpec().WithSpace(configapply.AccountSpace().WithClusterRole("edit")))
	out, err = accounts.Apply(ctx, other, metav1.ApplyOptions{FieldManager: "gitops"})
	require.NoError(t, err)
	assert.Equal(t, "edit", *out.Spec.Space.ClusterRole)
	assert.EqualValues(t, 2, *out.Spec.Space.Limit)
	conflict := configapply.Account("node-account").
		WithSpec(configapply.AccountSpec().WithSpace(configapply.AccountSpace().WithLimit(5)))
	_, err = accounts.Apply(ctx, conflict, metav1.ApplyOptions{FieldManager: "gitops"})
	assert.True(t, apierrors.IsConflict(err), "conflicting apply: %v", err)

	// Status belongs to /status: applying it through the main resource changes nothing.
	withStatus := configapply.Account("node-account").
		WithStatus(configapply.AccountStatus().WithNamespaces(configapply.AccountNamespaceStatus().WithName("x")))
	out, err = accounts.Apply(ctx, withStatus, metav1.ApplyOptions{FieldManager: "status-writer"})
	require.NoError(t, err)
	assert.Empty(t, out.Status.Namespaces)
	out, err = accounts.ApplyStatus(ctx, withStatus, metav1.ApplyOptions{FieldManager: "status-writer"})
	require.NoError(t, err)
	assert.Equal(t, "x", out.Status.Namespaces[0].Name)
}

func TestRestartKeepsObjects(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, dir)
	ctx := ctxFor(t)
	_, err := s.Client.ConfigV1alpha1().Accounts().Create(ctx, nodeAccount(), metav1.CreateOptions{})
	require.NoError(t, err)
	tmpl := &configv1alpha1.Template{
		ObjectMeta: metav1.ObjectMeta{Name: "space-template"},
		Resources: configv1alpha1.TemplateResources{Manifests: []runtime.RawExtension{{
			Raw: []byte(`{"apiVersion":"v1","kind":"LimitRange","metadata":{"name":"container-limit-range"}}`),
		}}},
	}
	_, err = s.Client.ConfigV1alpha1().Templates().Create(ctx, tmpl, metav1.CreateOptions{})
	require.NoError(t, err)
	s.Stop()

	s = startServer(t, dir)
	acc, err := s.Client.ConfigV1alpha1().Accounts().Get(ctx, "node-account", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "dev", acc.Spec.Subjects[0].Name)
	got, err := s.Client.ConfigV1alpha1().Templates().Get(ctx, "space-template", metav1.GetOptions{})
	require.NoError(t, err)
	require.Len(t, got.Resources.Manifests, 1)
	assert.JSONEq(t, string(tmpl.Resources.Manifests[0].Raw), string(got.Resources.Manifests[0].Raw))
}
