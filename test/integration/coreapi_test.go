package integration

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
)

// within is how long the tests wait for what the server's informers and controllers do
// after a write to kube-apiserver.
const within = 30 * time.Second

// tenancyAs is a client of the in-process server for user.
func (c *coreAPI) tenancyAs(t *testing.T, user string) versioned.Interface {
	t.Helper()
	client, err := versioned.NewForConfig(c.As(user))
	require.NoError(t, err)
	return client
}

// accountLabel marks a namespace as a Space of the Account it names.
const accountLabel = "kiosk.sh/account"

// createSpaceNamespace creates, in kube-apiserver, a namespace that is a Space of account.
func (c *coreAPI) createSpaceNamespace(t *testing.T, ctx context.Context, name, account string) {
	t.Helper()
	_, err := c.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: name, Labels: map[string]string{accountLabel: account}}}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// bindUser binds the ClusterRole role to user in namespace, in kube-apiserver.
func (c *coreAPI) bindUser(t *testing.T, ctx context.Context, namespace, name, role, user string) {
	t.Helper()
	_, err := c.Kube.RbacV1().RoleBindings(namespace).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
}

// spaceNames lists the Spaces client sees, sorted.
func spaceNames(ctx context.Context, client versioned.Interface) ([]string, error) {
	list, err := client.TenancyV1alpha1().Spaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(list.Items))
	for _, s := range list.Items {
		names = append(names, s.Name)
	}
	slices.Sort(names)
	return names, nil
}

// A user's Space list holds exactly the Spaces (namespaces labelled with an Account) their
// RoleBindings in kube-apiserver let them get, and follows a new binding and a removed one.
func TestSpaceListFollowsRoleBindings(t *testing.T) {
	c := coreFor(t)
	ctx := ctxFor(t)
	for _, ns := range []string{"view-a", "view-b", "view-c"} {
		c.createSpaceNamespace(t, ctx, ns, "viewers")
	}
	c.bindUser(t, ctx, "view-a", "alice-view", "view", "alice")
	c.bindUser(t, ctx, "view-c", "bob-view", "view", "bob")
	alice := c.tenancyAs(t, "alice")

	sees := func(want ...string) func(*assert.CollectT) {
		return func(c *assert.CollectT) {
			got, err := spaceNames(ctx, alice)
			if assert.NoError(c, err) {
				assert.Equal(c, want, got)
			}
		}
	}
	require.EventuallyWithT(t, sees("view-a"), within, 50*time.Millisecond, "alice sees only view-a")

	c.bindUser(t, ctx, "view-b", "alice-view", "view", "alice")
	require.EventuallyWithT(t, sees("view-a", "view-b"), within, 50*time.Millisecond, "alice gains view-b")

	require.NoError(t, c.Kube.RbacV1().RoleBindings("view-a").Delete(ctx, "alice-view", metav1.DeleteOptions{}))
	require.EventuallyWithT(t, sees("view-b"), within, 50*time.Millisecond, "alice loses view-a")

	_, err := alice.TenancyV1alpha1().Spaces().Get(ctx, "view-c", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err) || apierrors.IsForbidden(err), "alice gets view-c, where only bob has a binding: %v", err)
}
