package e2e

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// nodeQuota is node-quota.yml of the walkthrough, exactly as users apply it.
const nodeQuota = `apiVersion: config.kiosk.sh/v1alpha1
kind: AccountQuota
metadata:
  name: default-user-limits
spec:
  account: node-account
  quota:
    hard:
      pods: "2"
      limits.cpu: "4"
`

// Walkthrough steps 13 and 14: the admin applies node-quota.yml; dev, who holds no rights on
// config.kiosk.sh, is stopped by kube-apiserver's RBAC before the request reaches the server.
func TestAccountQuotaApplyIsForAdminsOnly(t *testing.T) {
	admin := cluster.Admin()
	admin.Run(t, "delete", "accountquotas.config.kiosk.sh", "default-user-limits", "--ignore-not-found").Success(t)
	t.Cleanup(func() {
		admin.Run(t, "delete", "accountquotas.config.kiosk.sh", "default-user-limits", "--ignore-not-found").Deleted(t)
	})

	out := admin.Apply(t, nodeQuota).Success(t).Stdout
	assert.Contains(t, out, "accountquota.config.kiosk.sh/default-user-limits created")

	r := cluster.As("dev").Apply(t, nodeQuota).Failure(t)
	assert.Contains(t, r.Stderr, `User "dev" cannot get resource "accountquotas" in API group "config.kiosk.sh" at the cluster scope`)

	q, err := cluster.AdminClients(t).Kiosk.ConfigV1alpha1().AccountQuotas().Get(context.Background(),
		"default-user-limits", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "node-account", q.Spec.Account)
	pods, cpu := q.Spec.Quota.Hard[corev1.ResourcePods], q.Spec.Quota.Hard[corev1.ResourceLimitsCPU]
	assert.Equal(t, "2", pods.String())
	assert.Equal(t, "4", cpu.String())
}
