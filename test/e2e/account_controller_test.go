package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// A namespace labelled kiosk.sh/account by other means is adopted: the Account's users get
// their RoleBinding and see the Space, and the Account lists it. Deleting the Account takes
// their access away; the namespace stays.
func TestAccountAdoptsAndReleasesNamespaces(t *testing.T) {
	ctx := context.Background()
	account, ns, user := framework.UniqueName("adopt"), framework.UniqueName("gitops"), framework.UniqueName("user")
	admin := cluster.Admin()
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", ns, "--ignore-not-found", "--wait=false")
		admin.Run(t, "delete", "accounts.config.kiosk.sh", account, "--ignore-not-found")
	})
	admin.Apply(t, accountYAML(account, user, "")).Success(t)
	admin.Run(t, "create", "namespace", ns).Success(t)
	admin.Run(t, "label", "namespace", ns, "kiosk.sh/account="+account).Success(t)

	kiosk := cluster.AdminClients(t).Kiosk.ConfigV1alpha1().Accounts()
	eventually(t, "the Account lists the adopted namespace", func(ctx context.Context) bool {
		a, err := kiosk.Get(ctx, account, metav1.GetOptions{})
		return err == nil && len(a.Status.Namespaces) == 1 && a.Status.Namespaces[0].Name == ns
	})
	eventually(t, "the Account's user sees the Space", func(context.Context) bool {
		return cluster.As(user).Run(t, "get", "space", ns).Err == nil
	})
	cluster.As(user).Run(t, "get", "pods", "-n", ns).Success(t)

	admin.Run(t, "delete", "accounts.config.kiosk.sh", account).Success(t)
	kube := cluster.AdminClients(t).Kube
	eventually(t, "the RoleBinding is removed", func(ctx context.Context) bool {
		_, err := kube.RbacV1().RoleBindings(ns).Get(ctx, "kiosk-account-"+account, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	assert.Contains(t, cluster.As(user).Run(t, "get", "pods", "-n", ns).Failure(t).Stderr, "Forbidden")
	_, err := kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	require.NoError(t, err, "the namespace stays when its Account is deleted")
}

func eventually(t testing.TB, what string, cond func(ctx context.Context) bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true,
		func(ctx context.Context) (bool, error) { return cond(ctx), nil })
	require.NoError(t, err, "waiting until %s", what)
}
