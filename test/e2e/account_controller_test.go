package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// A namespace labelled kiosk.sh/account by other means is adopted: the Account's users get
// their RoleBinding and see the Space, and the Account lists it. Deleting the Account takes
// their access away; the namespace stays.
func TestAccountAdoptsAndReleasesNamespaces(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	account, ns, user := framework.UniqueName("adopt"), framework.UniqueName("gitops"), framework.UniqueName("user")
	admin := cluster.Admin()
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", ns, "--ignore-not-found", "--wait=false").Deleted(t)
		admin.Run(t, "delete", "accounts.config.kiosk.sh", account, "--ignore-not-found").Deleted(t)
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

// accountYAML is an Account with one User subject, and space (indented under spec.space) when
// not empty.
func accountYAML(name, user, space string) string {
	out := "apiVersion: config.kiosk.sh/v1alpha1\nkind: Account\nmetadata:\n  name: " + name +
		"\nspec:\n  subjects:\n  - kind: User\n    name: " + user + "\n    apiGroup: rbac.authorization.k8s.io\n"
	if space != "" {
		out += "  space:\n" + space
	}
	return out
}

// grantKioskEdit binds kiosk-edit to user with a ClusterRoleBinding named name, deleted when
// the test ends.
func grantKioskEdit(t *testing.T, admin framework.Clients, name, user string) {
	t.Helper()
	_, err := admin.Kube.RbacV1().ClusterRoleBindings().Create(context.Background(), &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "kiosk-edit"},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: user}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		deleted(t, "ClusterRoleBinding "+name, admin.Kube.RbacV1().ClusterRoleBindings().Delete(context.Background(), name, metav1.DeleteOptions{}))
	})
}

func eventually(t testing.TB, what string, cond func(ctx context.Context) bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 30*time.Second, true,
		func(ctx context.Context) (bool, error) { return cond(ctx), nil })
	require.NoError(t, err, "waiting until %s", what)
}
