package e2e

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	tenancyv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// spaceAdmissionFixture makes two Accounts, each with one tenant who may create Spaces, the
// first with a Space limit of 2.
func spaceAdmissionFixture(t *testing.T) (mine, theirs, me, other string) {
	mine, theirs = framework.UniqueName("adm-mine"), framework.UniqueName("adm-theirs")
	me, other = framework.UniqueName("adm-me"), framework.UniqueName("adm-other")
	admin := cluster.Admin()
	admin.Apply(t, fmt.Sprintf(`apiVersion: config.kiosk.sh/v1alpha1
kind: Account
metadata:
  name: %s
spec:
  space:
    limit: 2
  subjects:
  - kind: User
    name: %s
    apiGroup: rbac.authorization.k8s.io
---
apiVersion: config.kiosk.sh/v1alpha1
kind: Account
metadata:
  name: %s
spec:
  subjects:
  - kind: User
    name: %s
    apiGroup: rbac.authorization.k8s.io
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: %s
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: kiosk-edit
subjects:
- kind: User
  name: %s
  apiGroup: rbac.authorization.k8s.io
- kind: User
  name: %s
  apiGroup: rbac.authorization.k8s.io
`, mine, me, theirs, other, mine, me, other)).Success(t)
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", "-l", "kiosk.sh/account in ("+mine+","+theirs+")", "--wait=false").Deleted(t)
		admin.Run(t, "delete", "accounts.config.kiosk.sh", mine, theirs, "--ignore-not-found").Deleted(t)
		admin.Run(t, "delete", "clusterrolebinding", mine, "--ignore-not-found").Deleted(t)
	})
	return mine, theirs, me, other
}

// The SpaceAccount admission plugin: a tenant creates Spaces only for an Account they are
// a subject of, learns nothing about Accounts they are not in, and cannot move a Space or
// touch its kiosk.sh/ keys.
func TestSpaceAccountAdmission(t *testing.T) {
	mine, theirs, me, _ := spaceAdmissionFixture(t)
	tenant, admin := cluster.As(me), cluster.Admin()

	r := tenant.Apply(t, space(mine+"-other", theirs)).Failure(t)
	assert.Contains(t, r.Stderr, fmt.Sprintf(`User %q cannot create spaces for account %q: not a subject of the account`, me, theirs))
	missing := framework.UniqueName("adm-missing")
	r = tenant.Apply(t, space(mine+"-nowhere", missing)).Failure(t)
	assert.Contains(t, r.Stderr, fmt.Sprintf(`User %q cannot create spaces for account %q: not a subject of the account`, me, missing),
		"a missing Account looks like someone else's")
	r = tenant.RunWithInput(t, "apiVersion: tenancy.kiosk.sh/v1alpha1\nkind: Space\nmetadata:\n  name: "+mine+"-none\n", "create", "-f", "-").Failure(t)
	assert.Contains(t, r.Stderr, "spec.account is required")
	r = admin.Apply(t, space(mine+"-admin", missing)).Failure(t)
	assert.Contains(t, r.Stderr, "NotFound", "an admin is told the Account does not exist")
	assert.Contains(t, r.Stderr, missing)
	for _, name := range []string{mine + "-other", mine + "-nowhere", mine + "-none", mine + "-admin"} {
		admin.Run(t, "get", "namespace", name).Failure(t)
	}

	tenant.Apply(t, space(mine+"-a", mine)).Success(t)
	grantNamespaceUpdate(t, mine+"-updater", mine+"-a", me)
	r = tenant.Run(t, "patch", "space", mine+"-a", "--type=merge", "-p", `{"spec":{"account":"`+theirs+`"}}`).Failure(t)
	assert.Contains(t, r.Stderr, "spec.account: Forbidden: a Space cannot move to another Account")
	r = tenant.Run(t, "label", "space", mine+"-a", "kiosk.sh/account="+theirs, "--overwrite").Failure(t)
	assert.Contains(t, r.Stderr, "kiosk.sh/ keys are set by admins only")
	r = tenant.Run(t, "label", "space", mine+"-a", "team.kiosk.sh/tier=gold").Failure(t)
	assert.Contains(t, r.Stderr, "kiosk.sh/ keys are set by admins only")
	tenant.Run(t, "label", "space", mine+"-a", "tier=gold").Success(t)
	assert.Equal(t, "gold", admin.Run(t, "get", "namespace", mine+"-a", "-o", "jsonpath={.metadata.labels.tier}").Success(t).Stdout)
	assert.Equal(t, mine, admin.Run(t, "get", "namespace", mine+"-a", "-o", "jsonpath={.metadata.labels.kiosk\\.sh/account}").Success(t).Stdout)
}

// The SpaceLimit admission plugin: a dry run checks the limit without taking a place, a
// failed create gives its place back, and a deleted Space frees one.
func TestSpaceLimitAdmission(t *testing.T) {
	mine, _, me, _ := spaceAdmissionFixture(t)
	tenant, admin := cluster.As(me), cluster.Admin()

	for i := range 3 {
		tenant.Apply(t, space(fmt.Sprintf("%s-dry-%d", mine, i), mine), "--dry-run=server").Success(t)
	}
	tenant.Apply(t, space(mine+"-a", mine)).Success(t)
	// A create that fails after admission (the namespace exists already) gives back its place.
	admin.Run(t, "create", "namespace", mine+"-taken").Success(t)
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", mine+"-taken", "--ignore-not-found", "--wait=false").Deleted(t)
	})
	r := tenant.Apply(t, space(mine+"-taken", mine)).Failure(t)
	assert.Contains(t, r.Stderr, "AlreadyExists")
	tenant.Apply(t, space(mine+"-b", mine)).Success(t)
	want := fmt.Sprintf("space limit of 2 reached for account %s", mine)
	r = tenant.Apply(t, space(mine+"-c", mine), "--dry-run=server").Failure(t)
	assert.Contains(t, r.Stderr, want)
	r = tenant.Apply(t, space(mine+"-c", mine)).Failure(t)
	assert.Contains(t, r.Stderr, want)
	assert.Contains(t, r.Stderr, "Forbidden")

	// Deleting a Space gives its place back once its namespace is gone (a namespace deleted
	// by other means frees its place when its reservation expires).
	admin.Run(t, "delete", "space", mine+"-b", "--timeout=90s").Success(t)
	tenant.Apply(t, space(mine+"-c", mine)).Success(t)
}

// A server whose SpaceAccount or SpaceLimit plugin is disabled creates no Space at all,
// rather than creating Spaces for Accounts their creators are not in.
func TestSpaceCreateNeedsTheSpaceAdmissionPlugins(t *testing.T) {
	mine, theirs, me, _ := spaceAdmissionFixture(t)
	for _, plugin := range []string{"SpaceAccount", "SpaceLimit"} {
		t.Run(plugin, func(t *testing.T) {
			extra := cluster.StartReplica(t, "--disable-admission-plugins="+plugin)
			direct := extra.Config()
			direct.Impersonate = rest.ImpersonationConfig{UserName: me}
			kiosk := framework.NewClients(t, direct).Kiosk
			for _, account := range []string{mine, theirs} {
				name := framework.UniqueName(mine + "-off")
				_, err := kiosk.TenancyV1alpha1().Spaces().Create(context.Background(), &tenancyv1alpha1.Space{
					ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: tenancyv1alpha1.SpaceSpec{Account: account}}, metav1.CreateOptions{})
				require.Error(t, err)
				assert.Contains(t, err.Error(), "admission plugin is disabled")
				cluster.Admin().Run(t, "get", "namespace", name).Failure(t)
			}
		})
	}
}

// grantNamespaceUpdate lets user update and patch namespace, which the default admin role of
// a Space does not, through ClusterRole role bound in that namespace; the role is deleted
// when the test ends.
func grantNamespaceUpdate(t *testing.T, role, namespace, user string) {
	t.Helper()
	grantInNamespace(t, role, namespace, user, "", "[namespaces]", "[update, patch]")
}

// grantInNamespace lets user take verbs on resources (YAML lists) of apiGroup in namespace, through
// ClusterRole role bound there by a RoleBinding of the same name; the role is deleted when
// the test ends.
func grantInNamespace(t *testing.T, role, namespace, user, apiGroup, resources, verbs string) {
	t.Helper()
	admin := cluster.Admin()
	admin.Apply(t, fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: %[1]s
rules:
- apiGroups: [%[6]q]
  resources: %[4]s
  verbs: %[5]s
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: %[1]s
  namespace: %[2]s
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: %[1]s
subjects:
- kind: User
  name: %[3]s
  apiGroup: rbac.authorization.k8s.io
`, role, namespace, user, resources, verbs, apiGroup)).Success(t)
	t.Cleanup(func() { admin.Run(t, "delete", "clusterrole", role, "--ignore-not-found").Deleted(t) })
}
