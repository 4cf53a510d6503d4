package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	tenancyv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// 30 concurrent Space creates by a tenant for an Account with limit 3, half through
// kube-apiserver to replica 0 and half straight to a second replica sharing its etcd, make
// exactly 3 Spaces. Five rounds, each with a new Account.
func TestSpaceLimitHoldsAcrossReplicas(t *testing.T) {
	ctx := context.Background()
	extra := cluster.StartReplica(t)
	admin := cluster.AdminClients(t)
	tenant := framework.UniqueName("tenant")
	grantKioskEdit(t, admin, framework.UniqueName("limit-editors"), tenant)
	direct := extra.Config()
	direct.Impersonate = rest.ImpersonationConfig{UserName: tenant}
	paths := []versioned.Interface{cluster.ClientsAs(t, tenant).Kiosk, framework.NewClients(t, direct).Kiosk}

	for round := range 5 {
		account := framework.UniqueName("limited")
		_, err := admin.Kiosk.ConfigV1alpha1().Accounts().Create(ctx, &configv1alpha1.Account{
			ObjectMeta: metav1.ObjectMeta{Name: account},
			Spec: configv1alpha1.AccountSpec{Space: configv1alpha1.AccountSpace{Limit: ptr.To[int32](3)},
				Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: tenant}}},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		t.Cleanup(func() {
			for i := range 30 {
				ns := fmt.Sprintf("%s-%02d", account, i)
				deleted(t, "Namespace "+ns, admin.Kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}))
			}
			deleted(t, "Account "+account, admin.Kiosk.ConfigV1alpha1().Accounts().Delete(context.Background(), account, metav1.DeleteOptions{}))
		})

		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			created  int
			refusals int
		)
		for i := range 30 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				space := &tenancyv1alpha1.Space{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%02d", account, i)},
					Spec: tenancyv1alpha1.SpaceSpec{Account: account}}
				_, err := paths[i%2].TenancyV1alpha1().Spaces().Create(ctx, space, metav1.CreateOptions{})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					created++
				case apierrors.IsForbidden(err):
					refusals++
					assert.Contains(t, err.Error(), "space limit of 3 reached for account "+account)
				default:
					t.Errorf("round %d: %v", round, err)
				}
			}()
		}
		wg.Wait()
		assert.Equal(t, 3, created, "round %d", round)
		assert.Equal(t, 27, refusals, "round %d", round)
		namespaces, err := admin.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: "kiosk.sh/account=" + account})
		require.NoError(t, err)
		assert.Len(t, namespaces.Items, 3, "round %d", round)
	}
}
