package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/chart"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// The chart, installed under a release name of its own, applies with server-side apply on a
// real kube-apiserver. Objects with names of their own (the namespace, the ServiceAccount,
// the server's RBAC and delegation bindings, the workload) are applied for real, and RBAC then
// grants the ServiceAccount what the server does. Objects whose names are fixed by the product
// (the APIServices, the webhook configuration, the kiosk-* roles) belong to the running
// installation, so they go through the same admission with --dry-run=server, taking their
// fields over from the installation's manager (--force-conflicts) as a second install would.
func TestChartApplies(t *testing.T) {
	release := framework.UniqueName("e2e-chart")
	admin := cluster.Admin()
	t.Cleanup(func() {
		selector := "app.kubernetes.io/instance=" + release
		admin.Run(t, "delete", "clusterrolebinding,clusterrole", "-l", selector, "--ignore-not-found").Deleted(t)
		admin.Run(t, "delete", "rolebinding", "-n", "kube-system", "-l", selector, "--ignore-not-found").Deleted(t)
		admin.Run(t, "delete", "namespace", release, "--ignore-not-found", "--wait=false").Deleted(t)
	})
	objs := chart.Objects(t, chart.Template(t, release, release, "--set", "namespace.create=true"))
	var own, shared []*unstructured.Unstructured
	for _, obj := range objs {
		if strings.Contains(obj.GetName(), release) {
			own = append(own, obj)
		} else {
			shared = append(shared, obj)
		}
	}
	sharedNames := names(shared)
	for _, want := range []string{
		"APIService/v1alpha1.config.kiosk.sh", "APIService/v1alpha1.tenancy.kiosk.sh",
		"ClusterRole/kiosk-view", "ClusterRoleBinding/kiosk-view", "ClusterRole/kiosk-edit",
		"ClusterRole/kiosk-space-admin", "ClusterRole/kiosk-namespace-delete",
	} {
		assert.Contains(t, sharedNames, want)
	}
	assert.Contains(t, names(own), "ValidatingWebhookConfiguration/"+release+"-tenancy-apiserver-accountquota")
	assert.Contains(t, names(own), "MutatingWebhookConfiguration/"+release+"-tenancy-apiserver-pods")
	assert.Contains(t, names(own), "ValidatingAdmissionPolicy/"+release+"-tenancy-apiserver-namespaces")
	assert.Contains(t, names(own), "ValidatingAdmissionPolicy/"+release+"-tenancy-apiserver-protected")

	// The webhook configurations and the policies have names of their own, but the webhooks
	// would send every tenant namespace's writes (and Pods) to a server that does not run,
	// and the policies would hold every update of a Space's namespace and of its protected
	// objects beside the installation's own: they are only dry-run.
	var dryOnly []*unstructured.Unstructured
	var real []*unstructured.Unstructured
	for _, obj := range own {
		switch obj.GetKind() {
		case "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding":
			dryOnly = append(dryOnly, obj)
		default:
			real = append(real, obj)
		}
	}
	applied := admin.Apply(t, chart.ToYAML(t, real), "--server-side", "--field-manager=e2e-chart").Success(t)
	assertApplied(t, applied, real, "serverside-applied")
	assert.NotContains(t, applied.Stderr, "PodSecurity", "the server's Pod meets Pod Security restricted")
	dryRun := append(shared, dryOnly...)
	out := admin.Apply(t, chart.ToYAML(t, dryRun), "--server-side", "--field-manager=e2e-chart",
		"--dry-run=server", "--force-conflicts").Success(t)
	assertApplied(t, out, dryRun, "serverside-applied (server dry run)")

	// The bundled etcd and the server's Deployment meet Pod Security restricted as well.
	bundled := chart.Objects(t, chart.Template(t, release, release,
		"--values", filepath.Join(chart.Dir(), "ci", "bundled-values.yaml")))
	var workloads []*unstructured.Unstructured
	for _, obj := range bundled {
		switch obj.GetKind() {
		case "StatefulSet", "Deployment", "Service", "PodDisruptionBudget", "NetworkPolicy":
			workloads = append(workloads, obj)
		}
	}
	out = admin.Apply(t, chart.ToYAML(t, workloads), "--server-side", "--field-manager=e2e-chart", "--dry-run=server").Success(t)
	assert.Contains(t, out.Stdout, "statefulset.apps/"+release+"-tenancy-apiserver-etcd serverside-applied")
	assert.Contains(t, out.Stdout, "deployment.apps/"+release+"-tenancy-apiserver serverside-applied")
	assert.NotContains(t, out.Stderr, "PodSecurity")

	// What the applied RBAC grants the chart's ServiceAccount, as kube-apiserver decides it.
	sa := "system:serviceaccount:" + release + ":" + release + "-tenancy-apiserver"
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:" + release, "system:authenticated"}
	reviews := cluster.AdminClients(t).Kube.AuthorizationV1().SubjectAccessReviews()
	tests := []struct {
		name  string
		attrs authorizationv1.ResourceAttributes
		want  bool
	}{
		{"creates the namespaces of Spaces", authorizationv1.ResourceAttributes{Verb: "create", Resource: "namespaces"}, true},
		{"watches RBAC", authorizationv1.ResourceAttributes{Verb: "watch", Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"}, true},
		{"binds an Account's cluster role", authorizationv1.ResourceAttributes{Verb: "bind", Group: "rbac.authorization.k8s.io", Resource: "clusterroles", Name: "admin"}, true},
		{"writes the RoleBindings of Spaces", authorizationv1.ResourceAttributes{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "rolebindings", Namespace: "any"}, true},
		{"asks SubjectAccessReviews", authorizationv1.ResourceAttributes{Verb: "create", Group: "authorization.k8s.io", Resource: "subjectaccessreviews"}, true},
		{"reviews tokens (auth-delegator)", authorizationv1.ResourceAttributes{Verb: "create", Group: "authentication.k8s.io", Resource: "tokenreviews"}, true},
		{"reads the front-proxy CA", authorizationv1.ResourceAttributes{Verb: "get", Resource: "configmaps", Namespace: "kube-system", Name: "extension-apiserver-authentication"}, true},
		{"counts pods for AccountQuotas", authorizationv1.ResourceAttributes{Verb: "list", Resource: "pods"}, true},
		{"holds its Lease", authorizationv1.ResourceAttributes{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: release, Name: release + "-tenancy-apiserver"}, true},
		{"binds no other cluster role", authorizationv1.ResourceAttributes{Verb: "bind", Group: "rbac.authorization.k8s.io", Resource: "clusterroles", Name: "cluster-admin"}, false},
		{"writes no ClusterRoleBinding", authorizationv1.ResourceAttributes{Verb: "create", Group: "rbac.authorization.k8s.io", Resource: "clusterrolebindings"}, false},
		{"writes no ClusterRole", authorizationv1.ResourceAttributes{Verb: "update", Group: "rbac.authorization.k8s.io", Resource: "clusterroles", Name: "admin"}, false},
		{"holds no other Lease", authorizationv1.ResourceAttributes{Verb: "update", Group: "coordination.k8s.io", Resource: "leases", Namespace: "kube-system", Name: "kube-controller-manager"}, false},
		{"applies the kinds Templates hold", authorizationv1.ResourceAttributes{Verb: "patch", Resource: "limitranges", Namespace: "any"}, true},
		{"escalates no role", authorizationv1.ResourceAttributes{Verb: "escalate", Group: "rbac.authorization.k8s.io", Resource: "clusterroles"}, false},
		{"impersonates no one", authorizationv1.ResourceAttributes{Verb: "impersonate", Resource: "users"}, false},
		{"deletes no collection of namespaces", authorizationv1.ResourceAttributes{Verb: "deletecollection", Resource: "namespaces"}, false},
		{"approves no certificate", authorizationv1.ResourceAttributes{Verb: "approve", Group: "certificates.k8s.io", Resource: "signers", Name: "kubernetes.io/kube-apiserver-client"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sar, err := reviews.Create(context.Background(), &authorizationv1.SubjectAccessReview{
				Spec: authorizationv1.SubjectAccessReviewSpec{User: sa, Groups: groups, ResourceAttributes: &tt.attrs},
			}, metav1.CreateOptions{})
			require.NoError(t, err)
			assert.Equal(t, tt.want, sar.Status.Allowed, sar.Status.Reason)
		})
	}
}

// assertApplied checks that kubectl reported every object with suffix (its result).
func assertApplied(t *testing.T, r framework.Result, objs []*unstructured.Unstructured, suffix string) {
	t.Helper()
	for _, obj := range objs {
		gk := obj.GroupVersionKind().GroupKind()
		resource := strings.ToLower(gk.Kind)
		if gk.Group != "" {
			resource += "." + gk.Group
		}
		assert.Contains(t, r.Stdout, resource+"/"+obj.GetName()+" "+suffix)
	}
	assert.NotContains(t, strings.ToLower(r.Stdout+r.Stderr), "error")
}

func names(objs []*unstructured.Unstructured) []string {
	var out []string
	for _, obj := range objs {
		out = append(out, obj.GetKind()+"/"+obj.GetName())
	}
	return out
}
