package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// The product's ClusterRoles grant what they promise, as kube-apiserver's RBAC evaluates them.
func TestProductClusterRoles(t *testing.T) {
	t.Parallel()
	ns := framework.UniqueName("e2e-roles")
	admin := cluster.Admin()
	admin.Run(t, "create", "namespace", ns).Success(t)
	t.Cleanup(func() { admin.Run(t, "delete", "namespace", ns, "--wait=false").Deleted(t) })
	admin.Run(t, "create", "rolebinding", "e2e-space-admin", "-n", ns,
		"--clusterrole=kiosk-space-admin", "--user=e2e-space-admin").Success(t)
	binding := framework.UniqueName("e2e-kiosk-edit")
	admin.Run(t, "create", "clusterrolebinding", binding, "--clusterrole=kiosk-edit", "--user=e2e-editor").Success(t)
	t.Cleanup(func() { admin.Run(t, "delete", "clusterrolebinding", binding, "--ignore-not-found").Deleted(t) })

	reviews := cluster.AdminClients(t).Kube.AuthorizationV1().SubjectAccessReviews()
	allowed := func(t *testing.T, user string, attrs authorizationv1.ResourceAttributes) bool {
		t.Helper()
		sar, err := reviews.Create(context.Background(), &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{
				User:               user,
				Groups:             []string{"system:authenticated"},
				ResourceAttributes: &attrs,
			},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		return sar.Status.Allowed
	}
	// kube-controller-manager fills kiosk-space-admin from the roles it aggregates.
	require.Eventually(t, func() bool {
		return allowed(t, "e2e-space-admin", authorizationv1.ResourceAttributes{
			Verb: "create", Group: "apps", Resource: "deployments", Namespace: ns})
	}, 30*time.Second, 200*time.Millisecond, "kiosk-space-admin never aggregated the admin role")

	const tenancy, config = "tenancy.kiosk.sh", "config.kiosk.sh"
	tests := []struct {
		name  string
		user  string
		attrs authorizationv1.ResourceAttributes
		want  bool
	}{
		{"everyone lists spaces", "e2e-nobody", authorizationv1.ResourceAttributes{Verb: "list", Group: tenancy, Resource: "spaces"}, true},
		{"everyone watches accounts", "e2e-nobody", authorizationv1.ResourceAttributes{Verb: "watch", Group: tenancy, Resource: "accounts"}, true},
		{"everyone gets a space", "e2e-nobody", authorizationv1.ResourceAttributes{Verb: "get", Group: tenancy, Resource: "spaces", Name: "x"}, true},
		{"no one else creates spaces", "e2e-nobody", authorizationv1.ResourceAttributes{Verb: "create", Group: tenancy, Resource: "spaces"}, false},
		{"no one else reads config accounts", "e2e-nobody", authorizationv1.ResourceAttributes{Verb: "get", Group: config, Resource: "accounts"}, false},
		{"no one else lists account quotas", "e2e-nobody", authorizationv1.ResourceAttributes{Verb: "list", Group: config, Resource: "accountquotas"}, false},
		{"kiosk-edit creates spaces", "e2e-editor", authorizationv1.ResourceAttributes{Verb: "create", Group: tenancy, Resource: "spaces"}, true},
		{"kiosk-edit updates spaces", "e2e-editor", authorizationv1.ResourceAttributes{Verb: "update", Group: tenancy, Resource: "spaces"}, true},
		{"kiosk-edit patches spaces", "e2e-editor", authorizationv1.ResourceAttributes{Verb: "patch", Group: tenancy, Resource: "spaces"}, true},
		{"kiosk-edit deletes spaces", "e2e-editor", authorizationv1.ResourceAttributes{Verb: "delete", Group: tenancy, Resource: "spaces"}, true},
		{"kiosk-edit creates no namespace", "e2e-editor", authorizationv1.ResourceAttributes{Verb: "create", Resource: "namespaces"}, false},
		{"space admin deletes its namespace", "e2e-space-admin", authorizationv1.ResourceAttributes{Verb: "delete", Resource: "namespaces", Name: ns, Namespace: ns}, true},
		{"space admin binds roles", "e2e-space-admin", authorizationv1.ResourceAttributes{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "rolebindings", Namespace: ns}, true},
		{"space admin deletes no other namespace", "e2e-space-admin", authorizationv1.ResourceAttributes{Verb: "delete", Resource: "namespaces", Name: "default", Namespace: "default"}, false},
		{"space admin has no rights elsewhere", "e2e-space-admin", authorizationv1.ResourceAttributes{Verb: "create", Group: "apps", Resource: "deployments", Namespace: "default"}, false},
		{"space admin cannot relabel its namespace", "e2e-space-admin", authorizationv1.ResourceAttributes{Verb: "update", Resource: "namespaces", Name: ns, Namespace: ns}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, allowed(t, tt.user, tt.attrs))
		})
	}
}
