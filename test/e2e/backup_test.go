package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// A snapshot taken with hack/backup.sh brings back, after everything was deleted, every
// Account, AccountQuota, Template and TemplateInstance with its UID and spec; the AccountQuota's
// usage is recounted from the Pods that exist now, not taken from the snapshot, and enforced;
// a change of the Template applies the synced instance's objects again; the tenant sees its
// Account and Space again.
//
// The restore rewinds the whole tenancy store, which is safe here because the suite's tests
// run one at a time: only this test writes between the save and the restore. It runs on both
// layouts of the local control plane: the etcd embedded in replica 0, and a shared etcd process.
func TestBackupAndRestore(t *testing.T) {
	t.Run("embedded etcd", backupAndRestore)
	t.Run("shared etcd", func(t *testing.T) {
		cluster.ShareEtcd(t)
		backupAndRestore(t)
	})
}

func backupAndRestore(t *testing.T) {
	ctx := context.Background()
	admin, kubectl := cluster.AdminClients(t), cluster.Admin()
	cfg := admin.Kiosk.ConfigV1alpha1()
	name := framework.UniqueName("backup")
	tenant := name + "-dev"
	accounts := []string{name + "-a", name + "-b"}
	space, tmpl, instance := name+"-space", name+"-tmpl", "greeting"

	for i, a := range accounts {
		kubectl.Apply(t, accountYAML(a, tenant, fmt.Sprintf("    limit: %d\n", i+2))).Success(t)
	}
	_, err := admin.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: space, Labels: map[string]string{"kiosk.sh/account": accounts[0]}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	kubectl.Apply(t, fmt.Sprintf(`apiVersion: config.kiosk.sh/v1alpha1
kind: AccountQuota
metadata:
  name: %s
spec:
  account: %s
  quota:
    hard:
      pods: "10"
`, name, accounts[0])).Success(t)
	kubectl.Apply(t, fmt.Sprintf(`apiVersion: config.kiosk.sh/v1alpha1
kind: Template
metadata:
  name: %s
parameters:
- name: GREETING
  required: true
resources:
  manifests:
  - apiVersion: v1
    kind: ConfigMap
    metadata:
      name: greeting
    data:
      greeting: ${GREETING}
`, tmpl)).Success(t)
	kubectl.Apply(t, instanceYAML(instance, space, tmpl, true, "GREETING", "hello")).Success(t)
	t.Cleanup(func() {
		bg := context.Background()
		deleted(t, "Namespace "+space, admin.Kube.CoreV1().Namespaces().Delete(bg, space, metav1.DeleteOptions{}))
		deleted(t, "AccountQuota "+name, cfg.AccountQuotas().Delete(bg, name, metav1.DeleteOptions{}))
		deleted(t, "Template "+tmpl, cfg.Templates().Delete(bg, tmpl, metav1.DeleteOptions{}))
		for _, a := range accounts {
			deleted(t, "Account "+a, cfg.Accounts().Delete(bg, a, metav1.DeleteOptions{}))
		}
	})
	instanceStatus(t, space, instance, configv1alpha1.TemplateInstanceStatusDeployed)
	eventually(t, "the webhook knows the Space", func(ctx context.Context) bool {
		q, err := cfg.AccountQuotas().Get(ctx, name, metav1.GetOptions{})
		return err == nil && len(q.Status.Namespaces) == 1
	})
	pods := []string{"app-0", "app-1", "app-2"}
	for _, p := range pods {
		_, err := admin.Kube.CoreV1().Pods(space).Create(ctx, haPod(p), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	quotaUses(t, name, len(pods))

	// What the snapshot holds, object by object.
	var wantAccounts []*configv1alpha1.Account
	for _, a := range accounts {
		got, err := cfg.Accounts().Get(ctx, a, metav1.GetOptions{})
		require.NoError(t, err)
		wantAccounts = append(wantAccounts, got)
	}
	wantQuota, err := cfg.AccountQuotas().Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	wantTemplate, err := cfg.Templates().Get(ctx, tmpl, metav1.GetOptions{})
	require.NoError(t, err)
	wantInstance, err := cfg.TemplateInstances(space).Get(ctx, instance, metav1.GetOptions{})
	require.NoError(t, err)

	snapshot := filepath.Join(t.TempDir(), "tenancy.db")
	cluster.BackupTenancyEtcd(t, snapshot)

	// After the snapshot: a Pod goes (the snapshot's usage is now one too many), and every
	// object of the tenancy store is deleted.
	require.NoError(t, admin.Kube.CoreV1().Pods(space).Delete(ctx, pods[0], metav1.DeleteOptions{GracePeriodSeconds: new(int64)}))
	pods = pods[1:]
	kubectl.Run(t, "delete", "templateinstances.config.kiosk.sh", instance, "-n", space).Success(t)
	kubectl.Run(t, "delete", "templates.config.kiosk.sh", tmpl).Success(t)
	kubectl.Run(t, "delete", "accountquotas.config.kiosk.sh", name).Success(t)
	for _, a := range accounts {
		kubectl.Run(t, "delete", "accounts.config.kiosk.sh", a).Success(t)
	}
	eventually(t, "everything is gone", func(ctx context.Context) bool {
		_, e1 := cfg.TemplateInstances(space).Get(ctx, instance, metav1.GetOptions{})
		_, e2 := cfg.Templates().Get(ctx, tmpl, metav1.GetOptions{})
		_, e3 := cfg.AccountQuotas().Get(ctx, name, metav1.GetOptions{})
		_, e4 := cfg.Accounts().Get(ctx, accounts[0], metav1.GetOptions{})
		_, e5 := admin.Kube.CoreV1().ConfigMaps(space).Get(ctx, "greeting", metav1.GetOptions{})
		return apierrors.IsNotFound(e1) && apierrors.IsNotFound(e2) && apierrors.IsNotFound(e3) &&
			apierrors.IsNotFound(e4) && apierrors.IsNotFound(e5)
	})
	kubectl.Run(t, "get", "accounts.tenancy.kiosk.sh", accounts[0], "--as="+tenant).Failure(t)

	cluster.RestoreTenancyEtcd(t, snapshot)

	for _, want := range wantAccounts {
		got, err := cfg.Accounts().Get(ctx, want.Name, metav1.GetOptions{})
		require.NoError(t, err, "Account %s after the restore", want.Name)
		assert.Equal(t, want.UID, got.UID, "Account %s", want.Name)
		assert.Equal(t, want.Spec, got.Spec, "Account %s", want.Name)
	}
	gotQuota, err := cfg.AccountQuotas().Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err, "AccountQuota after the restore")
	assert.Equal(t, wantQuota.UID, gotQuota.UID)
	assert.Equal(t, wantQuota.Spec, gotQuota.Spec)
	gotTemplate, err := cfg.Templates().Get(ctx, tmpl, metav1.GetOptions{})
	require.NoError(t, err, "Template after the restore")
	assert.Equal(t, wantTemplate.UID, gotTemplate.UID)
	assert.Equal(t, wantTemplate.Resources, gotTemplate.Resources)
	assert.Equal(t, wantTemplate.Parameters, gotTemplate.Parameters)
	gotInstance, err := cfg.TemplateInstances(space).Get(ctx, instance, metav1.GetOptions{})
	require.NoError(t, err, "TemplateInstance after the restore")
	assert.Equal(t, wantInstance.UID, gotInstance.UID)
	assert.Equal(t, wantInstance.Spec, gotInstance.Spec)

	// The usage is the Pods that exist, not the snapshot's.
	quotaUses(t, name, len(pods))
	// The instance is back as Deployed, but deleting it removed its objects, which live in
	// kube-apiserver's etcd. A change of the Template re-applies every synced instance
	// (docs/operating.md, "Backup and restore").
	instanceStatus(t, space, instance, configv1alpha1.TemplateInstanceStatusDeployed)
	kubectl.Run(t, "annotate", "templates.config.kiosk.sh", tmpl, "restored=true").Success(t)
	eventually(t, "the instance's ConfigMap is applied again", func(ctx context.Context) bool {
		cm, err := admin.Kube.CoreV1().ConfigMaps(space).Get(ctx, "greeting", metav1.GetOptions{})
		return err == nil && cm.Data["greeting"] == "hello"
	})
	out := kubectl.Run(t, "get", "spaces", "--as="+tenant, "-o", "name").Success(t).Stdout
	assert.Contains(t, out, space)
	kubectl.Run(t, "get", "accounts.tenancy.kiosk.sh", accounts[1], "--as="+tenant).Success(t)

	// Quota is enforced on the restored AccountQuota: 2 Pods exist, 8 more fit, the 11th not.
	for i := range 8 {
		_, err := admin.Kube.CoreV1().Pods(space).Create(ctx, haPod(fmt.Sprintf("more-%d", i)), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	_, err = admin.Kube.CoreV1().Pods(space).Create(ctx, haPod("one-too-many"), metav1.CreateOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exceeded quota: "+name)
}

// quotaUses waits until the AccountQuota's status counts n Pods, in total and in its Space.
func quotaUses(t *testing.T, name string, n int) {
	t.Helper()
	want := resource.MustParse(fmt.Sprint(n))
	quotas := cluster.AdminClients(t).Kiosk.ConfigV1alpha1().AccountQuotas()
	eventually(t, fmt.Sprintf("AccountQuota %s counts %d Pods", name, n), func(ctx context.Context) bool {
		q, err := quotas.Get(ctx, name, metav1.GetOptions{})
		if err != nil || len(q.Status.Namespaces) != 1 {
			return false
		}
		used, ns := q.Status.Total.Used[corev1.ResourcePods], q.Status.Namespaces[0].Status.Used[corev1.ResourcePods]
		return used.Cmp(want) == 0 && ns.Cmp(want) == 0
	})
}
