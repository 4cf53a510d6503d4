package e2e

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
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
