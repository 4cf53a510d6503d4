package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// quotaTenant is an Account of one tenant with one Space and one AccountQuota.
type quotaTenant struct {
	account, space, user string
	admin, tenant        framework.Kubectl
}

// newQuotaTenant makes an Account named after prefix, its tenant, a Space in which the tenant
// may create Pods, and an AccountQuota of the Account whose spec.quota is quota (YAML indented
// under it); it returns once the quota's status counts the Space.
func newQuotaTenant(t *testing.T, prefix, quota string) quotaTenant {
	t.Helper()
	q := quotaTenant{account: framework.UniqueName(prefix), user: framework.UniqueName(prefix + "-dev"), admin: cluster.Admin()}
	q.space, q.tenant = q.account+"-space", cluster.As(q.user)
	t.Cleanup(func() {
		q.admin.Run(t, "delete", "namespace", q.space, "--wait=false").Deleted(t)
		q.admin.Run(t, "delete", "accountquotas.config.kiosk.sh", q.account, "--ignore-not-found").Deleted(t)
		q.admin.Run(t, "delete", "accounts.config.kiosk.sh", q.account, "--ignore-not-found").Deleted(t)
	})
	q.admin.Apply(t, accountYAML(q.account, q.user, "")).Success(t)
	q.admin.Apply(t, fmt.Sprintf("apiVersion: config.kiosk.sh/v1alpha1\nkind: AccountQuota\nmetadata:\n  name: %[1]s\nspec:\n  account: %[1]s\n  quota:\n%[2]s",
		q.account, quota)).Success(t)
	q.admin.Apply(t, space(q.space, q.account)).Success(t)
	eventually(t, "the tenant may create Pods in the Space and the quota counts it", func(context.Context) bool {
		return q.tenant.Run(t, "auth", "can-i", "create", "pods", "-n", q.space).Err == nil &&
			q.admin.Run(t, "get", "accountquota", q.account, "-o", "jsonpath={.status.namespaces[*].namespace}").Stdout == q.space
	})
	return q
}

// used is the quota's status.total.used of resource.
func (q quotaTenant) used(t *testing.T, resource string) string {
	t.Helper()
	return q.admin.Run(t, "get", "accountquota", q.account, "-o", "jsonpath={.status.total.used."+resource+"}").Success(t).Stdout
}

// denied is the text kube-apiserver returns when the AccountQuota webhook refuses a request.
func denied(message string) string {
	return `admission webhook "accountquota.config.kiosk.sh" denied the request: ` + message
}

// cpuPodYAML is a Pod whose one container requests and is limited to cpu, with
// activeDeadlineSeconds when deadline is not empty.
func cpuPodYAML(name, namespace, cpu, deadline string) string {
	out := fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
spec:
  containers:
  - name: app
    image: nginx
    resources:
      requests:
        cpu: %[3]s
      limits:
        cpu: %[3]s
`, name, namespace, cpu)
	if deadline != "" {
		out += "  activeDeadlineSeconds: " + deadline + "\n"
	}
	return out
}

// An UPDATE AdmissionReview that says a Pod finished (old Running with requests, new
// Succeeded), sent to the webhook port again and again, does not lower the AccountQuota's
// usage: admission only charges, and only the recount, from the Pods, gives usage back. The
// reviews are sent with the client certificate kube-apiserver calls the webhook with, which
// stands for any caller where the port does not authenticate its callers, and for a replay
// of a real review.
func TestHoleReplayedUpdateLowersQuota(t *testing.T) {
	t.Parallel()
	q := newQuotaTenant(t, "hole-replay", "    hard:\n      pods: \"3\"\n      requests.cpu: 300m\n")
	for i := range 3 {
		q.tenant.Apply(t, podYAML(fmt.Sprintf("p%d", i), q.space)).Success(t)
	}
	require.Equal(t, "3", q.used(t, "pods"))

	pod := func(phase string) string {
		return fmt.Sprintf(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p0","namespace":%q},
"spec":{"containers":[{"name":"app","image":"nginx","resources":{"requests":{"cpu":"100m"},"limits":{"cpu":"100m"}}}]},
"status":{"phase":%q}}`, q.space, phase)
	}
	review := []byte(fmt.Sprintf(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"replayed",
"kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},
"namespace":%q,"operation":"UPDATE","object":%s,"oldObject":%s}}`, q.space, pod("Succeeded"), pod("Running")))
	caller := webhookClient(t, "accountquota-webhook-client")
	for i := range 6 {
		code, body := postReview(t, caller, review)
		require.Equal(t, http.StatusOK, code, body)
		assert.Contains(t, body, `"allowed":true`)
		assert.Equal(t, "3", q.used(t, "pods"), "status.total.used.pods after %d replayed reviews", i+1)
		assert.Equal(t, "300m", q.used(t, "requests\\.cpu"), "status.total.used.requests.cpu after %d replayed reviews", i+1)
	}

	// The tenant still runs no more Pods than hard.
	r := q.tenant.Apply(t, podYAML("p3", q.space)).Failure(t)
	assert.Contains(t, r.Stderr, denied("exceeded quota: "+q.account+", requested: pods=1,requests.cpu=100m, used: pods=3,requests.cpu=300m, limited: pods=3,requests.cpu=300m"))
	pods := q.admin.Run(t, "get", "pods", "-n", q.space, "-o", "name").Success(t).Stdout
	assert.Len(t, lines(pods), 3, "pods: %s", pods)
}

// An in-place resize (the pods/resize subresource) is charged as an update of the Pod: a
// tenant cannot raise a Pod's cpu past the AccountQuota, and a resize that fits raises the
// usage. kube-apiserver accepts a resize of a Pod that is not scheduled yet, so the Pods of
// the local control plane, which has no node, do.
func TestHolePodResize(t *testing.T) {
	t.Parallel()
	q := newQuotaTenant(t, "hole-resize", "    hard:\n      limits.cpu: \"1\"\n")
	// The admin and edit roles do not grant pods/resize; an administrator may.
	grantInNamespace(t, q.account+"-resize", q.space, q.user, "", "[pods/resize]", "[get, update, patch]")
	q.tenant.Apply(t, cpuPodYAML("web", q.space, "500m", "")).Success(t)
	require.Equal(t, "500m", q.used(t, "limits\\.cpu"))

	resize := func(cpu string) framework.Result {
		return q.tenant.Run(t, "patch", "pod", "web", "-n", q.space, "--subresource", "resize", "--type", "merge", "-p",
			fmt.Sprintf(`{"spec":{"containers":[{"name":"app","resources":{"requests":{"cpu":%[1]q},"limits":{"cpu":%[1]q}}}]}}`, cpu))
	}
	r := resize("2").Failure(t)
	assert.Contains(t, r.Stderr, denied("exceeded quota: "+q.account+", requested: limits.cpu=1500m, used: limits.cpu=500m, limited: limits.cpu=1"))
	assert.Equal(t, "500m", q.admin.Run(t, "get", "pod", "web", "-n", q.space, "-o", "jsonpath={.spec.containers[0].resources.limits.cpu}").Success(t).Stdout)

	resize("1").Success(t)
	assert.Equal(t, "1", q.used(t, "limits\\.cpu"), "a resize that fits is charged")
	r = q.tenant.Apply(t, cpuPodYAML("more", q.space, "100m", "")).Failure(t)
	assert.Contains(t, r.Stderr, denied("exceeded quota: "+q.account+", requested: limits.cpu=100m, used: limits.cpu=1, limited: limits.cpu=1"))
}

// Setting activeDeadlineSeconds on a Pod moves it into a Terminating-scoped AccountQuota, and
// the quota is charged all of the Pod's usage, as Kubernetes' ResourceQuota charges it: the
// update is refused when the Pod does not fit.
func TestHoleQuotaScopeChange(t *testing.T) {
	t.Parallel()
	q := newQuotaTenant(t, "hole-scope", "    scopes: [Terminating]\n    hard:\n      pods: \"1\"\n      limits.cpu: \"1\"\n")
	for _, name := range []string{"a", "b"} {
		q.tenant.Apply(t, cpuPodYAML(name, q.space, "600m", "")).Success(t)
	}
	require.Equal(t, "0", q.used(t, "pods"), "Pods without activeDeadlineSeconds are not Terminating")

	deadline := func(name string, seconds int) framework.Result {
		return q.tenant.Run(t, "patch", "pod", name, "-n", q.space, "--type", "merge", "-p",
			`{"spec":{"activeDeadlineSeconds":`+strconv.Itoa(seconds)+`}}`)
	}
	deadline("a", 3600).Success(t)
	assert.Equal(t, "1", q.used(t, "pods"), "the Pod that entered the scope is charged")
	assert.Equal(t, "600m", q.used(t, "limits\\.cpu"))

	r := deadline("b", 3600).Failure(t)
	assert.Contains(t, r.Stderr, denied("exceeded quota: "+q.account+", requested: limits.cpu=600m,pods=1, used: limits.cpu=600m,pods=1, limited: limits.cpu=1,pods=1"))
	assert.Empty(t, q.admin.Run(t, "get", "pod", "b", "-n", q.space, "-o", "jsonpath={.spec.activeDeadlineSeconds}").Success(t).Stdout)
}
