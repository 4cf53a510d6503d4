package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// Restarting tenancy-apiserver under a running kube-apiserver loses no object, and the
// APIServices become Available again.
func TestRestartKeepsObjects(t *testing.T) {
	ctx := context.Background()
	kiosk := cluster.AdminClients(t).Kiosk.ConfigV1alpha1()
	name := framework.UniqueName("e2e-restart")
	limit := int32(3)
	account := &configv1alpha1.Account{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       configv1alpha1.AccountSpec{Space: configv1alpha1.AccountSpace{Limit: &limit}},
	}
	quota := &configv1alpha1.AccountQuota{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: configv1alpha1.AccountQuotaSpec{Account: name, Quota: corev1.ResourceQuotaSpec{
			Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("5")},
		}},
	}
	t.Cleanup(func() {
		deleted(t, "Account "+name, kiosk.Accounts().Delete(ctx, name, metav1.DeleteOptions{}))
		deleted(t, "AccountQuota "+name, kiosk.AccountQuotas().Delete(ctx, name, metav1.DeleteOptions{}))
	})
	createdAccount, err := kiosk.Accounts().Create(ctx, account, metav1.CreateOptions{})
	require.NoError(t, err)
	createdQuota, err := kiosk.AccountQuotas().Create(ctx, quota, metav1.CreateOptions{})
	require.NoError(t, err)

	apiserverPID, tenancyPID := cluster.PID("kube-apiserver"), cluster.Replica(0).PID()
	require.NotZero(t, tenancyPID)
	cluster.RestartTenancy(t)
	assert.NotEqual(t, tenancyPID, cluster.Replica(0).PID(), "tenancy-apiserver was not restarted")
	assert.Equal(t, apiserverPID, cluster.PID("kube-apiserver"), "kube-apiserver must keep running")

	gotAccount, err := kiosk.Accounts().Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, createdAccount.UID, gotAccount.UID)
	assert.Equal(t, createdAccount.Spec, gotAccount.Spec)
	gotQuota, err := kiosk.AccountQuotas().Get(ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, createdQuota.UID, gotQuota.UID)
	assert.Equal(t, createdQuota.Spec, gotQuota.Spec)

	// kubectl sees them too, through the aggregator.
	out := cluster.Admin().Run(t, "get", "accountquotas.config.kiosk.sh", name, "-o", "jsonpath={.metadata.uid}").Success(t).Stdout
	assert.Equal(t, types.UID(out), createdQuota.UID)
}

// What changes in kube-apiserver while tenancy-apiserver is stopped is what it serves once it
// is ready again, with no wait beyond /readyz: a namespace labelled as a Space meanwhile is
// seen by the user a RoleBinding made meanwhile lets in, and a Space whose RoleBinding was deleted meanwhile is
// seen no more (a revocation is not lost across a restart). The controllers, which start
// after the access index is ready, still adopt the new Space for its Account.
func TestRestartServesWhatChangedWhileStopped(t *testing.T) {
	ctx := context.Background()
	account := framework.UniqueName("e2e-restart-seen")
	before, during := account+"-before", account+"-during"
	owner, revoked, granted := framework.UniqueName("owner"), framework.UniqueName("revoked"), framework.UniqueName("granted")
	admin := cluster.Admin()
	kube := cluster.AdminClients(t).Kube
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", before, during, "--ignore-not-found", "--wait=false").Deleted(t)
		admin.Run(t, "delete", "accounts.config.kiosk.sh", account, "--ignore-not-found").Deleted(t)
	})
	admin.Apply(t, accountYAML(account, owner, "")).Success(t)
	viewer := func(ns, user string) *rbacv1.RoleBinding {
		return &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "view-" + user},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
		}
	}
	_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: before,
		Labels: map[string]string{configv1alpha1.AccountLabel: account}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = kube.RbacV1().RoleBindings(before).Create(ctx, viewer(before, revoked), metav1.CreateOptions{})
	require.NoError(t, err)
	eventually(t, "the revoked user sees the first Space", func(context.Context) bool {
		return cluster.As(revoked).Run(t, "get", "space", before).Err == nil
	})

	replica := cluster.Replica(0)
	replica.Stop(t)
	stopped := true
	t.Cleanup(func() {
		if stopped {
			replica.Start(t)
		}
	})
	require.NoError(t, kube.RbacV1().RoleBindings(before).Delete(ctx, "view-"+revoked, metav1.DeleteOptions{}))
	// The AccountQuota webhook, which fails closed, refuses writes in Spaces while the server
	// is down: the RoleBinding is made first and the namespace labelled afterwards, as GitOps
	// tools may do.
	_, err = kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: during}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = kube.RbacV1().RoleBindings(during).Create(ctx, viewer(during, granted), metav1.CreateOptions{})
	require.NoError(t, err)
	label := `{"metadata":{"labels":{"` + configv1alpha1.AccountLabel + `":"` + account + `"}}}`
	_, err = kube.CoreV1().Namespaces().Patch(ctx, during, types.MergePatchType, []byte(label), metav1.PatchOptions{})
	require.NoError(t, err)
	replica.Start(t)
	stopped = false
	require.NoError(t, cluster.WaitAPIServicesAvailable(ctx, 2*time.Minute))

	// Ready means the index holds all of it: no polling here. (Typed clients, not kubectl,
	// whose discovery of the group may lag behind the APIService for a few seconds.)
	spacesOf := func(user string) []string {
		list, err := cluster.ClientsAs(t, user).Kiosk.TenancyV1alpha1().Spaces().List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		var names []string
		for _, s := range list.Items {
			names = append(names, s.Name)
		}
		return names
	}
	assert.Equal(t, []string{during}, spacesOf(granted), "the Spaces of the user granted while the server was stopped")
	assert.Empty(t, spacesOf(revoked), "the Spaces of the user whose RoleBinding was deleted while the server was stopped")
	_, err = cluster.ClientsAs(t, revoked).Kiosk.TenancyV1alpha1().Spaces().Get(ctx, before, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "get of the revoked Space: %v", err)

	// The Account controller adopts the Space created while the server was stopped.
	eventually(t, "the Account's user sees the Space created while the server was stopped", func(context.Context) bool {
		return cluster.As(owner).Run(t, "get", "space", during).Err == nil
	})
	kiosk := cluster.AdminClients(t).Kiosk.ConfigV1alpha1().Accounts()
	eventually(t, "the Account lists both Spaces", func(ctx context.Context) bool {
		a, err := kiosk.Get(ctx, account, metav1.GetOptions{})
		return err == nil && len(a.Status.Namespaces) == 2
	})
}
