package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

const guardRailsTemplate = `apiVersion: config.kiosk.sh/v1alpha1
kind: Template
metadata:
  name: TEMPLATE
parameters:
- name: PODS
  value: "5"
  validation: "^[0-9]+$"
- name: TEAM
  required: true
resources:
  manifests:
  - apiVersion: networking.k8s.io/v1
    kind: NetworkPolicy
    metadata:
      name: default-deny
    spec:
      podSelector: {}
      policyTypes: [Ingress]
  - apiVersion: v1
    kind: ResourceQuota
    metadata:
      name: quota
      labels:
        team: ${TEAM}
    spec:
      hard:
        pods: ${PODS}
  - apiVersion: rbac.authorization.k8s.io/v1
    kind: RoleBinding
    metadata:
      name: team-view
    roleRef:
      apiGroup: rbac.authorization.k8s.io
      kind: ClusterRole
      name: view
    subjects:
    - kind: Group
      name: ${TEAM}
      apiGroup: rbac.authorization.k8s.io
`

func instanceYAML(name, namespace, template string, sync bool, params ...string) string {
	var b strings.Builder
	b.WriteString("apiVersion: config.kiosk.sh/v1alpha1\nkind: TemplateInstance\nmetadata:\n  name: " + name +
		"\n  namespace: " + namespace + "\nspec:\n  template: " + template + "\n")
	if sync {
		b.WriteString("  sync: true\n")
	}
	if len(params) > 0 {
		b.WriteString("  parameters:\n")
		for i := 0; i+1 < len(params); i += 2 {
			b.WriteString("  - name: " + params[i] + "\n    value: \"" + params[i+1] + "\"\n")
		}
	}
	return b.String()
}

// A Template with parameters, a NetworkPolicy, a ResourceQuota and a RoleBinding is
// applied; bad parameters fail with a reason and apply nothing; with sync, changing the
// Template updates the objects and dropping one deletes it; deleting the instance removes
// what it made.
func TestTemplateInstanceLifecycle(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin := cluster.Admin()
	clients := cluster.AdminClients(t)
	tmpl, ns := framework.UniqueName("guard-rails"), framework.UniqueName("templated")
	admin.Run(t, "create", "namespace", ns).Success(t)
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", ns, "--wait=false").Deleted(t)
		admin.Run(t, "delete", "template", tmpl, "--ignore-not-found").Deleted(t)
	})
	manifest := strings.ReplaceAll(guardRailsTemplate, "TEMPLATE", tmpl)
	admin.Apply(t, manifest).Success(t)
	instances := clients.Kiosk.ConfigV1alpha1().TemplateInstances(ns)

	statusOf := func(name string, want configv1alpha1.TemplateInstanceDeploymentStatus) *configv1alpha1.TemplateInstance {
		t.Helper()
		var got *configv1alpha1.TemplateInstance
		eventually(t, "instance "+name+" is "+string(want), func(ctx context.Context) bool {
			ti, err := instances.Get(ctx, name, metav1.GetOptions{})
			got = ti
			return err == nil && ti.Status.Status == want
		})
		return got
	}

	// Bad parameters: nothing is applied.
	admin.Apply(t, instanceYAML("bad-value", ns, tmpl, false, "TEAM", "red", "PODS", "many")).Success(t)
	failed := statusOf("bad-value", configv1alpha1.TemplateInstanceStatusFailed)
	assert.Equal(t, "ParameterInvalid", failed.Status.Reason)
	assert.Contains(t, failed.Status.Message, "PODS")
	admin.Apply(t, instanceYAML("missing", ns, tmpl, false)).Success(t)
	failed = statusOf("missing", configv1alpha1.TemplateInstanceStatusFailed)
	assert.Equal(t, "ParameterRequired", failed.Status.Reason)
	assert.Contains(t, failed.Status.Message, "TEAM")
	_, err := clients.Kube.CoreV1().ResourceQuotas(ns).Get(ctx, "quota", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "nothing applied for failed instances")
	admin.Run(t, "delete", "templateinstance", "bad-value", "missing", "-n", ns).Success(t)
	// Applied, then kept in sync.
	admin.Apply(t, instanceYAML("rails", ns, tmpl, true, "TEAM", "red")).Success(t)
	deployed := statusOf("rails", configv1alpha1.TemplateInstanceStatusDeployed)
	assert.Len(t, deployed.Status.AppliedObjects, 3)
	assert.NotEmpty(t, deployed.Status.TemplateResourceVersion)
	assert.NotNil(t, deployed.Status.LastAppliedAt)
	quota, err := clients.Kube.CoreV1().ResourceQuotas(ns).Get(ctx, "quota", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "5", quota.Spec.Hard.Pods().String())
	assert.Equal(t, "red", quota.Labels["team"])
	_, err = clients.Kube.NetworkingV1().NetworkPolicies(ns).Get(ctx, "default-deny", metav1.GetOptions{})
	require.NoError(t, err)
	rb, err := clients.Kube.RbacV1().RoleBindings(ns).Get(ctx, "team-view", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "red", rb.Subjects[0].Name)

	changed := strings.Replace(manifest, `value: "5"`, `value: "7"`, 1)
	changed = changed[:strings.Index(changed, "  - apiVersion: rbac.authorization.k8s.io/v1")]
	admin.Apply(t, changed).Success(t)
	eventually(t, "the quota follows the Template", func(ctx context.Context) bool {
		q, err := clients.Kube.CoreV1().ResourceQuotas(ns).Get(ctx, "quota", metav1.GetOptions{})
		return err == nil && q.Spec.Hard.Pods().String() == "7"
	})
	eventually(t, "the RoleBinding dropped from the Template is deleted", func(ctx context.Context) bool {
		_, err := clients.Kube.RbacV1().RoleBindings(ns).Get(ctx, "team-view", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})

	// Deleting the instance deletes what it made.
	admin.Run(t, "delete", "templateinstance", "rails", "-n", ns).Success(t)
	eventually(t, "the instance's objects are deleted", func(ctx context.Context) bool {
		_, err1 := clients.Kube.CoreV1().ResourceQuotas(ns).Get(ctx, "quota", metav1.GetOptions{})
		_, err2 := clients.Kube.NetworkingV1().NetworkPolicies(ns).Get(ctx, "default-deny", metav1.GetOptions{})
		return apierrors.IsNotFound(err1) && apierrors.IsNotFound(err2)
	})
}

// An Account that gains a mandatory template gets it in the Spaces it already has.
func TestMandatoryTemplateReachesExistingSpaces(t *testing.T) {
	t.Parallel()
	admin := cluster.Admin()
	account, ns, tmpl := framework.UniqueName("gains"), framework.UniqueName("existing"), framework.UniqueName("limits")
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", ns, "--wait=false").Deleted(t)
		admin.Run(t, "delete", "accounts.config.kiosk.sh", account, "--ignore-not-found").Deleted(t)
		admin.Run(t, "delete", "template", tmpl, "--ignore-not-found").Deleted(t)
	})
	admin.Apply(t, strings.ReplaceAll(templateDefinitionYAML, "space-template", tmpl)).Success(t)
	accountYAML := "apiVersion: config.kiosk.sh/v1alpha1\nkind: Account\nmetadata:\n  name: " + account + "\nspec:\n  subjects:\n  - kind: User\n    name: " + account + "-user\n    apiGroup: rbac.authorization.k8s.io\n"
	admin.Apply(t, accountYAML).Success(t)
	admin.Apply(t, space(ns, account)).Success(t)
	admin.Apply(t, strings.Replace(accountYAML, "spec:\n", "spec:\n  space:\n    templateInstances:\n    - spec:\n        template: "+tmpl+"\n", 1)).Success(t)
	eventually(t, "the existing Space gets the mandatory template", func(context.Context) bool {
		return admin.Run(t, "get", "limitrange", "container-limit-range", "-n", ns).Err == nil
	})
}

// A tenant who may manage TemplateInstances in their namespace instantiates only the
// Templates RBAC lets them use: refused without the verb use, applied with it.
func TestTemplateUseNeedsPermission(t *testing.T) {
	t.Parallel()
	admin := cluster.Admin()
	tenant, ns, tmpl := framework.UniqueName("tenant"), framework.UniqueName("use"), framework.UniqueName("rails")
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", ns, "--wait=false").Deleted(t)
		admin.Run(t, "delete", "template", tmpl, "--ignore-not-found").Deleted(t)
	})
	admin.Apply(t, strings.ReplaceAll(guardRailsTemplate, "TEMPLATE", tmpl)).Success(t)
	admin.Run(t, "create", "namespace", ns).Success(t)
	admin.Run(t, "create", "rolebinding", "tenant-admin", "--clusterrole=admin", "--user="+tenant, "-n", ns).Success(t)
	as := cluster.As(tenant)
	eventually(t, "the tenant may create TemplateInstances", func(context.Context) bool {
		return strings.TrimSpace(as.Run(t, "auth", "can-i", "create", "templateinstances.config.kiosk.sh", "-n", ns).Stdout) == "yes"
	})
	instance := instanceYAML("rails", ns, tmpl, false, "TEAM", "blue")
	r := as.Apply(t, instance).Failure(t)
	assert.Contains(t, r.Stderr, `cannot use template "`+tmpl+`"`)

	grantTemplateUse(t, tmpl, tenant)
	eventually(t, "the tenant may use the template", func(context.Context) bool { return as.Apply(t, instance).Err == nil })
	for _, obj := range []string{"networkpolicy/default-deny", "resourcequota/quota", "rolebinding/team-view"} {
		eventually(t, obj+" is applied", func(context.Context) bool { return admin.Run(t, "get", obj, "-n", ns).Err == nil })
	}
}

// grantTemplateUse lets user use the Template tmpl, through a ClusterRole and a
// ClusterRoleBinding named tmpl-use, deleted when the test ends.
func grantTemplateUse(t *testing.T, tmpl, user string) {
	t.Helper()
	admin := cluster.Admin()
	t.Cleanup(func() {
		admin.Run(t, "delete", "clusterrole,clusterrolebinding", tmpl+"-use", "--ignore-not-found").Deleted(t)
	})
	// kubectl create clusterrole knows "use" only for PodSecurityPolicies: write the role out.
	admin.Apply(t, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: `+tmpl+`-use
rules:
- apiGroups: [config.kiosk.sh]
  resources: [templates]
  resourceNames: [`+tmpl+`]
  verbs: [use]
`).Success(t)
	admin.Run(t, "create", "clusterrolebinding", tmpl+"-use", "--clusterrole="+tmpl+"-use", "--user="+user).Success(t)
}
