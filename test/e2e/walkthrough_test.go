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
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// The manifests of docs/walkthrough.md, exactly as users apply them.
const (
	nodeAccountYAML = `apiVersion: tenancy.kiosk.sh/v1alpha1
kind: Account
metadata:
  name: node-account
spec:
  subjects:
  - kind: User
    name: dev
    apiGroup: rbac.authorization.k8s.io
`
	redisAccountYAML = `apiVersion: tenancy.kiosk.sh/v1alpha1
kind: Account
metadata:
  name: redis-account
spec:
  subjects:
  - kind: User
    name: dba
    apiGroup: rbac.authorization.k8s.io
`
	clusterRoleBindingYAML = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: kiosk-role-binding
subjects:
- kind: User
  name: dev
  apiGroup: rbac.authorization.k8s.io
- kind: User
  name: dba
  apiGroup: rbac.authorization.k8s.io
roleRef:
  kind: ClusterRole
  name: kiosk-edit
  apiGroup: rbac.authorization.k8s.io
`
	nodeSpaceYAML = `apiVersion: tenancy.kiosk.sh/v1alpha1
kind: Space
metadata:
  name: node-space
spec:
  account: node-account
`
	redisSpaceYAML = `apiVersion: tenancy.kiosk.sh/v1alpha1
kind: Space
metadata:
  name: redis-space
spec:
  account: redis-account
`
)

// More manifests of docs/walkthrough.md, shared with the decoding tests of pkg/apis.
const (
	nodeQuotaYAML = `apiVersion: config.kiosk.sh/v1alpha1
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
	templateDefinitionYAML = `apiVersion: config.kiosk.sh/v1alpha1
kind: Template
metadata:
  name: space-template
resources:
  manifests:
  - apiVersion: v1
    kind: LimitRange
    metadata:
      name: container-limit-range
    spec:
      limits:
      - default:
          cpu: 1
        defaultRequest:
          cpu: 0.5
        type: Container
`
	redisAccountTemplatesYAML = `apiVersion: config.kiosk.sh/v1alpha1
kind: Account
metadata:
  name: redis-account
spec:
  space:
    limit: 2
    templateInstances:
    - spec:
        template: space-template
  subjects:
  - kind: User
    name: dba
    apiGroup: rbac.authorization.k8s.io
`
)

// nodejsDeployment is the Deployment of step 20, the walkthrough's manifest file (one replica
// of the tutorial's image brentley/ecsdemo-nodejs:latest, pulled every time, requests.cpu 1,
// limits.cpu 2), which test/node runs on the node.
func nodejsDeployment(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "pkg", "apis", "testdata", "nodejs-deployment.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// podYAML is a Pod with cpu requests and limits, in namespace.
func podYAML(name, namespace string) string { return cpuPodYAML(name, namespace, "100m", "") }

// withLimit is an Account manifest of the walkthrough with spec.space.limit: 2 added (steps 11 and 12).
func withLimit(account string) string {
	return strings.Replace(account, "spec:\n", "spec:\n  space:\n    limit: 2\n", 1)
}

func space(name, account string) string {
	return strings.NewReplacer("node-space", name, "node-account", account).Replace(nodeSpaceYAML)
}

// resetWalkthrough removes what an earlier run of the walkthrough left on a reused control plane.
func resetWalkthrough(t *testing.T) {
	admin := cluster.Admin()
	spaces := []string{"node-space", "node-space-2", "node-space-3", "redis-space", "redis-space-2", "redis-space-3", "redis-mandatory-space"}
	for _, s := range spaces {
		admin.Run(t, "delete", "namespace", s, "--ignore-not-found", "--wait=false").Deleted(t)
	}
	admin.Run(t, "delete", "namespace", "-l", "kiosk.sh/account in (node-account,redis-account)", "--wait=false").Deleted(t)
	admin.Run(t, "delete", "accountquotas", "default-user-limits", "--ignore-not-found").Deleted(t)
	admin.Run(t, "delete", "templates", "space-template", "--ignore-not-found").Deleted(t)
	admin.Run(t, "delete", "accounts.config.kiosk.sh", "node-account", "redis-account", "--ignore-not-found").Deleted(t)
	admin.Run(t, "delete", "clusterrolebinding", "kiosk-role-binding", "--ignore-not-found").Deleted(t)
	kube := cluster.AdminClients(t).Kube
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, 2*time.Minute, true,
		func(ctx context.Context) (bool, error) {
			for _, s := range spaces {
				if _, err := kube.CoreV1().Namespaces().Get(ctx, s, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
					return false, nil
				}
			}
			left, err := kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{
				LabelSelector: "kiosk.sh/account in (node-account,redis-account)"})
			return err == nil && len(left.Items) == 0, nil
		})
	require.NoError(t, err, "namespaces of an earlier walkthrough were not deleted")
}

// TestWalkthrough runs docs/walkthrough.md with its manifests, as admin, dev and dba.
func TestWalkthrough(t *testing.T) { walkthrough(t, impersonatedTenants()) }

// walkthroughTenants are the walkthrough's two users, dev and dba: how kubectl runs as each,
// and the user names kube-apiserver gives them, which the manifests' subjects must name.
type walkthroughTenants struct {
	dev, dba         framework.Kubectl
	devName, dbaName string
}

// impersonatedTenants are dev and dba through impersonation (--as), as the walkthrough shows.
func impersonatedTenants() walkthroughTenants {
	return walkthroughTenants{dev: cluster.As("dev"), dba: cluster.As("dba"), devName: "dev", dbaName: "dba"}
}

// subjects is a manifest of the walkthrough with its User subjects dev and dba renamed to
// the names kube-apiserver gives the tenants.
func (w walkthroughTenants) subjects(manifest string) string {
	return strings.NewReplacer("name: dev\n", "name: "+w.devName+"\n", "name: dba\n", "name: "+w.dbaName+"\n").Replace(manifest)
}

// walkthrough is docs/walkthrough.md, step by step, against whichever tenancy-apiserver
// replica 0 is running, with dev and dba as w says.
func walkthrough(t *testing.T, w walkthroughTenants) {
	resetWalkthrough(t)
	t.Cleanup(func() { resetWalkthrough(t) })
	admin, dev, dba := cluster.Admin(), w.dev, w.dba

	// Accounts.
	admin.Apply(t, w.subjects(nodeAccountYAML)).Success(t)
	admin.Apply(t, w.subjects(redisAccountYAML)).Success(t)
	assert.Contains(t, admin.Apply(t, w.subjects(nodeAccountYAML)).Success(t).Stdout, "unchanged", "re-apply")
	out := admin.Run(t, "get", "accounts").Success(t).Stdout
	assert.Contains(t, out, "node-account")
	assert.Contains(t, out, "redis-account")
	out = dev.Run(t, "get", "accounts").Success(t).Stdout
	assert.Contains(t, out, "node-account")
	assert.NotContains(t, out, "redis-account")

	// Spaces.
	assert.Contains(t, admin.Run(t, "get", "clusterroles", "kiosk-edit", "-o", "yaml").Success(t).Stdout, "spaces")
	admin.Apply(t, w.subjects(clusterRoleBindingYAML)).Success(t)
	dev.Apply(t, nodeSpaceYAML).Success(t)
	dba.Apply(t, redisSpaceYAML).Success(t)
	r := dev.Apply(t, redisSpaceYAML).Failure(t)
	assert.Contains(t, r.Stderr, "Forbidden")
	assert.Contains(t, r.Stderr, `User "`+w.devName+`" cannot create spaces for account "redis-account"`)
	out = admin.Run(t, "get", "spaces").Success(t).Stdout
	assert.Contains(t, out, "node-space")
	assert.Contains(t, out, "redis-space")
	out = dev.Run(t, "get", "spaces").Success(t).Stdout
	assert.Contains(t, out, "node-space")
	assert.NotContains(t, out, "redis-space")
	assert.Contains(t, dev.Run(t, "get", "space", "redis-space").Failure(t).Stderr, "NotFound", "an invisible Space is NotFound")
	admin.Run(t, "get", "pods", "-n", "redis-space").Success(t)
	dev.Run(t, "get", "pods", "-n", "node-space").Success(t)

	// Limits.
	admin.Apply(t, w.subjects(withLimit(nodeAccountYAML))).Success(t)
	dev.Apply(t, space("node-space-2", "node-account")).Success(t)
	r = dev.Apply(t, space("node-space-3", "node-account")).Failure(t)
	assert.Contains(t, r.Stderr, "space limit of 2 reached for account node-account")
	admin.Apply(t, w.subjects(withLimit(redisAccountYAML))).Success(t)
	dba.Apply(t, space("redis-space-2", "redis-account")).Success(t)
	r = dba.Apply(t, space("redis-space-3", "redis-account")).Failure(t)
	assert.Contains(t, r.Stderr, "space limit of 2 reached for account redis-account")

	// Deleting a Space needs delete on its namespace, which dev does not hold by default.
	assert.Contains(t, dba.Run(t, "delete", "space", "node-space-2").Failure(t).Stderr, "NotFound")
	assert.Contains(t, dev.Run(t, "delete", "space", "node-space-2").Failure(t).Stderr, "Forbidden")

	// AccountQuotas (steps 13 to 15).
	admin.Apply(t, nodeQuotaYAML).Success(t)
	r = dev.Apply(t, nodeQuotaYAML).Failure(t)
	assert.Contains(t, r.Stderr, `cannot get resource "accountquotas" in API group "config.kiosk.sh" at the cluster scope`)
	assert.Contains(t, admin.Run(t, "get", "accountquotas").Success(t).Stdout, "default-user-limits")

	// Templates (steps 16 to 19).
	admin.Apply(t, templateDefinitionYAML).Success(t)
	admin.Apply(t, w.subjects(redisAccountTemplatesYAML)).Success(t)
	admin.Apply(t, space("redis-mandatory-space", "redis-account")).Success(t)
	assert.Contains(t, admin.Run(t, "get", "limitrange", "-n", "redis-mandatory-space").Success(t).Stdout, "container-limit-range",
		"the mandatory template is applied before the Space create returns")
	out = admin.Run(t, "get", "templateinstances", "-n", "redis-mandatory-space").Success(t).Stdout
	assert.Contains(t, out, "space-template")
	assert.Contains(t, out, "Deployed")
	admin.Run(t, "run", "nginx", "--image", "nginx", "-n", "redis-mandatory-space", "--restart=Never").Success(t)
	pod := admin.Run(t, "get", "pod", "nginx", "-n", "redis-mandatory-space", "-o",
		"jsonpath={.spec.containers[0].resources.requests.cpu} {.spec.containers[0].resources.limits.cpu}").Success(t).Stdout
	assert.Equal(t, "500m 1", pod, "cpu request and limit from the LimitRange")
	admin.Run(t, "delete", "pod", "nginx", "-n", "redis-mandatory-space", "--wait=false").Success(t)
	// Workloads in two accounts (steps 20 to 22).
	dev.Apply(t, nodejsDeployment(t)).Success(t)
	eventually(t, "the Deployment's Pod is created", func(context.Context) bool {
		return strings.Count(admin.Run(t, "get", "pods", "-n", "node-space", "-l", "app=nodejs", "--no-headers").Stdout, "nodejs") == 1
	})
	dev.Apply(t, podYAML("second", "node-space-2")).Success(t)
	r = dev.Apply(t, podYAML("third", "node-space")).Failure(t)
	assert.Contains(t, r.Stderr, "exceeded quota: default-user-limits")
	r = dev.Apply(t, podYAML("third", "node-space-2")).Failure(t)
	assert.Contains(t, r.Stderr, "exceeded quota: default-user-limits", "whichever Space it is in")
	dba.Run(t, "create", "deploy", "redis", "--image", "redis", "-n", "redis-space").Success(t)
	dev.Run(t, "get", "all", "-n", "node-space").Success(t)
	assert.Contains(t, dev.Run(t, "get", "all", "-n", "redis-space").Failure(t).Stderr, "Forbidden")
}
