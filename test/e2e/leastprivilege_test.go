package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// The server's identity in the cluster: the ServiceAccount of artifacts/deploy, which the
// Helm chart creates as well.
const (
	serverNamespace = "tenancy-system"
	serverAccount   = "tenancy-apiserver"
	serverUser      = "system:serviceaccount:" + serverNamespace + ":" + serverAccount
)

// runAsServiceAccount restarts replica 0 with a token of the server's ServiceAccount, minted by
// kube-apiserver's TokenRequest API, as its only credential towards kube-apiserver (its own
// client, delegated authentication and authorization), so it holds exactly the RBAC of
// artifacts/deploy. Replica 0 is the only replica, so the controllers run with it too. It
// returns where replica 0's log of that run starts; replica 0 gets its default credentials
// back when the test ends.
func runAsServiceAccount(t *testing.T) int64 {
	kubeconfig := cluster.ServiceAccountKubeconfig(t, serverNamespace, serverAccount, time.Hour)
	who := cluster.WithKubeconfig(kubeconfig).Run(t, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}").Success(t).Stdout
	require.Equal(t, serverUser, who, "the kubeconfig authenticates with the ServiceAccount's token")
	logStart := logSize(t, "tenancy-apiserver-0")
	cluster.RestartTenancy(t, "--kubeconfig="+kubeconfig,
		"--authentication-kubeconfig="+kubeconfig, "--authorization-kubeconfig="+kubeconfig)
	assert.Equal(t, cluster.Replica(0).Identity(t), cluster.LeaseHolder(t),
		"the controllers' Lease is taken with the ServiceAccount's permissions")
	return logStart
}

// refusedRequests are the lines of replica 0's log, from offset on, in which kube-apiserver
// refused a request of the server itself.
func refusedRequests(t *testing.T, offset int64) []string {
	data, err := os.ReadFile(filepath.Join(cluster.Dir, "logs", "tenancy-apiserver-0.log"))
	require.NoError(t, err)
	var refused []string
	for _, line := range strings.Split(string(data[min(offset, int64(len(data))):]), "\n") {
		if strings.Contains(line, "forbidden") && strings.Contains(line, serverUser) {
			refused = append(refused, line)
		}
	}
	return refused
}

func logSize(t *testing.T, name string) int64 {
	info, err := os.Stat(filepath.Join(cluster.Dir, "logs", name+".log"))
	require.NoError(t, err)
	return info.Size()
}

// The walkthrough passes with tenancy-apiserver holding only the RBAC of artifacts/deploy,
// through a token of its ServiceAccount: least privilege is enough, and nothing the server
// asked kube-apiserver for on the way was refused.
func TestWalkthroughLeastPrivilege(t *testing.T) {
	logStart := runAsServiceAccount(t)
	walkthrough(t, impersonatedTenants())
	assert.Empty(t, refusedRequests(t, logStart), "requests of the server that kube-apiserver refused")
}

// The server's ServiceAccount holds what the server uses and nothing more: RBAC refuses it the
// rest, and a server running with its token meets those refusals.
func TestServerServiceAccountIsLeastPrivilege(t *testing.T) {
	admin := cluster.Admin()
	canI := func(args ...string) bool {
		r := admin.Run(t, append([]string{"auth", "can-i", "--as=" + serverUser}, args...)...)
		return r.Err == nil
	}
	for _, allowed := range [][]string{
		{"list", "namespaces"},
		{"create", "namespaces"},
		{"delete", "namespaces"},
		{"create", "rolebindings", "-n", "default"},
		{"bind", "clusterroles/admin"},
		{"bind", "clusterroles/kiosk-space-admin"},
		{"create", "limitranges", "-n", "default"},
		{"patch", "networkpolicies.networking.k8s.io", "-n", "default"},
		{"update", "leases.coordination.k8s.io/tenancy-apiserver", "-n", "tenancy-system"},
		{"create", "subjectaccessreviews.authorization.k8s.io"},
		{"create", "events.events.k8s.io", "-n", "default"},
	} {
		assert.True(t, canI(allowed...), "the server may %v", allowed)
	}
	for _, refused := range [][]string{
		{"patch", "namespaces"},
		{"create", "clusterrolebindings"},
		{"create", "clusterroles"},
		{"bind", "clusterroles/cluster-admin"},
		{"escalate", "clusterroles"},
		{"create", "pods", "-n", "default"},
		{"create", "podtemplates", "-n", "default"},
		{"delete", "nodes"},
		{"create", "events", "-n", "default"},
		{"update", "leases.coordination.k8s.io/kube-controller-manager", "-n", "kube-system"},
		{"update", "leases.coordination.k8s.io/other", "-n", "tenancy-system"},
		{"impersonate", "users"},
	} {
		assert.False(t, canI(refused...), "the server may not %v", refused)
	}

	runAsServiceAccount(t)

	// An Account whose Spaces would bind a role the server may not bind: the Space is
	// refused, naming the role, and nothing of it is left.
	account := framework.UniqueName("e2e-lp-account")
	spaceName := framework.UniqueName("e2e-lp-space")
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", spaceName, "--ignore-not-found", "--wait=false").Deleted(t)
		admin.Run(t, "delete", "accounts.config.kiosk.sh", account, "--ignore-not-found").Deleted(t)
	})
	admin.Apply(t, accountYAML(account, account+"-user", "    clusterRole: cluster-admin\n")).Success(t)
	r := admin.Apply(t, space(spaceName, account)).Failure(t)
	assert.Contains(t, r.Stderr, "Forbidden")
	assert.Contains(t, r.Stderr, `binds its subjects to ClusterRole "cluster-admin" (spec.space.clusterRole), which tenancy-apiserver may not bind`)
	kube := cluster.AdminClients(t).Kube
	eventually(t, "the Space's namespace is deleted again", func(ctx context.Context) bool {
		_, err := kube.CoreV1().Namespaces().Get(ctx, spaceName, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})

	// A namespace labelled for that Account by other means is adopted, but cannot be bound:
	// the Account's status says so and why, until the Account names a role the server may bind.
	adopted := framework.UniqueName("e2e-lp-adopted")
	t.Cleanup(func() { admin.Run(t, "delete", "namespace", adopted, "--ignore-not-found", "--wait=false").Deleted(t) })
	admin.Run(t, "create", "namespace", adopted).Success(t)
	admin.Run(t, "label", "namespace", adopted, "kiosk.sh/account="+account).Success(t)
	condition := func() string {
		return admin.Run(t, "get", "accounts.config.kiosk.sh", account, "-o",
			`jsonpath={.status.conditions[?(@.type=="SpacesBound")].status} {.status.conditions[?(@.type=="SpacesBound")].reason} {.status.conditions[?(@.type=="SpacesBound")].message}`).Stdout
	}
	var bound string
	eventually(t, "the Account reports the refused binding", func(context.Context) bool {
		bound = condition()
		return strings.HasPrefix(bound, "False ")
	})
	assert.Contains(t, bound, "BindingForbidden")
	assert.Contains(t, bound, `tenancy-apiserver may not bind ClusterRole "cluster-admin" (spec.space.clusterRole) in 1 Spaces (`+adopted+`)`)
	admin.Apply(t, accountYAML(account, account+"-user", "    clusterRole: view\n")).Success(t)
	eventually(t, "the Account's Spaces are bound", func(context.Context) bool {
		bound = condition()
		return strings.HasPrefix(bound, "True Bound")
	})
	assert.Contains(t, admin.Run(t, "get", "rolebinding", "kiosk-account-"+account, "-n", adopted, "-o", "jsonpath={.roleRef.name}").Success(t).Stdout, "view")

	// A Template object of a kind outside tenancy-apiserver-templates fails its instance with
	// kube-apiserver's refusal, so the admin sees why.
	tmpl := framework.UniqueName("e2e-lp-template")
	ns := framework.UniqueName("e2e-lp-ns")
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", ns, "--ignore-not-found", "--wait=false").Deleted(t)
		admin.Run(t, "delete", "templates", tmpl, "--ignore-not-found").Deleted(t)
	})
	admin.Run(t, "create", "namespace", ns).Success(t)
	admin.Apply(t, `apiVersion: config.kiosk.sh/v1alpha1
kind: Template
metadata:
  name: `+tmpl+`
resources:
  manifests:
  - apiVersion: v1
    kind: PodTemplate
    metadata:
      name: not-allowed
    template:
      spec:
        containers:
        - name: app
          image: nginx
`).Success(t)
	admin.Apply(t, "apiVersion: config.kiosk.sh/v1alpha1\nkind: TemplateInstance\nmetadata:\n  name: lp\n  namespace: "+ns+"\nspec:\n  template: "+tmpl+"\n").Success(t)
	var status string
	eventually(t, "the TemplateInstance fails", func(ctx context.Context) bool {
		status = admin.Run(t, "get", "templateinstance", "lp", "-n", ns, "-o", "jsonpath={.status.status} {.status.reason} {.status.message}").Stdout
		return strings.HasPrefix(status, "Failed ")
	})
	assert.Contains(t, status, "ApplyFailed")
	assert.Contains(t, status, "forbidden")
	assert.Contains(t, status, serverUser)
}
