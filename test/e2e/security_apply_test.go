package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// quotaTemplate is a Template of one ResourceQuota named q with a pods limit.
func quotaTemplate(name, pods string) string {
	return fmt.Sprintf(`apiVersion: config.kiosk.sh/v1alpha1
kind: Template
metadata:
  name: %s
resources:
  manifests:
  - apiVersion: v1
    kind: ResourceQuota
    metadata:
      name: q
    spec:
      hard:
        pods: "%s"
`, name, pods)
}

// tenantSpace makes an Account whose subject is a tenant who may create Spaces, with the
// Account's space settings given (YAML under spec.space, or ""), and the tenant's Space;
// everything goes when the test ends.
func tenantSpace(t *testing.T, prefix, spaceSettings string) (account, tenant, ns string) {
	t.Helper()
	account, tenant, ns = framework.UniqueName(prefix), framework.UniqueName(prefix+"-me"), framework.UniqueName(prefix+"-space")
	admin := cluster.Admin()
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", ns, "--ignore-not-found", "--wait=false").Deleted(t)
		admin.Run(t, "delete", "accounts.config.kiosk.sh", account, "--ignore-not-found").Deleted(t)
	})
	admin.Apply(t, accountYAML(account, tenant, spaceSettings)).Success(t)
	grantKioskEdit(t, cluster.AdminClients(t), account, tenant)
	cluster.As(tenant).Apply(t, space(ns, account)).Success(t)
	return account, tenant, ns
}

// A tenant who may use a Template whose ResourceQuota has the name of their Space's mandatory
// quota cannot take the quota over: their instance fails with reason Conflict, naming the
// mandatory instance, the quota keeps its limit, and deleting their instance leaves it.
func TestHoleInstanceTakeover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin := cluster.Admin()
	clients := cluster.AdminClients(t)
	mandatory, bigger := framework.UniqueName("hole-takeover-limits"), framework.UniqueName("hole-takeover-bigger")
	t.Cleanup(func() { admin.Run(t, "delete", "template", mandatory, bigger, "--ignore-not-found").Deleted(t) })
	admin.Apply(t, quotaTemplate(mandatory, "3")).Success(t)
	admin.Apply(t, quotaTemplate(bigger, "100")).Success(t)
	_, tenant, ns := tenantSpace(t, "hole-takeover", "    templateInstances:\n    - spec:\n        template: "+mandatory+"\n        sync: true\n")
	instanceStatus(t, ns, mandatory, configv1alpha1.TemplateInstanceStatusDeployed)
	pods := func() string {
		q, err := clients.Kube.CoreV1().ResourceQuotas(ns).Get(ctx, "q", metav1.GetOptions{})
		require.NoError(t, err, "the mandatory quota exists")
		return q.Spec.Hard.Pods().String()
	}
	require.Equal(t, "3", pods())

	grantTemplateUse(t, bigger, tenant)
	as := cluster.As(tenant)
	eventually(t, "the tenant may use the second template", func(context.Context) bool {
		return as.Apply(t, instanceYAML("takeover", ns, bigger, false)).Err == nil
	})
	failed := instanceStatus(t, ns, "takeover", configv1alpha1.TemplateInstanceStatusFailed)
	assert.Equal(t, "Conflict", failed.Status.Reason)
	assert.Equal(t, fmt.Sprintf("ResourceQuota q in namespace %s belongs to template instance %s/%s; an object is applied by one template instance only",
		ns, ns, mandatory), failed.Status.Message)
	assert.Equal(t, "3", pods(), "the mandatory quota keeps its limit")
	eventually(t, "a Warning event says why", func(ctx context.Context) bool {
		list, err := clients.Kube.EventsV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		for _, e := range list.Items {
			if e.Regarding.Name == "takeover" && e.Type == "Warning" && e.Reason == "Conflict" &&
				strings.Contains(e.Note, "belongs to template instance "+ns+"/"+mandatory) {
				return true
			}
		}
		return false
	})

	as.Run(t, "delete", "templateinstance", "takeover", "-n", ns).Success(t)
	eventually(t, "the tenant's instance is gone", func(ctx context.Context) bool {
		_, err := clients.Kiosk.ConfigV1alpha1().TemplateInstances(ns).Get(ctx, "takeover", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	assert.Equal(t, "3", pods(), "deleting the tenant's instance leaves the mandatory quota")
	// The mandatory instance still owns its quota: it follows its Template.
	admin.Apply(t, quotaTemplate(mandatory, "4")).Success(t)
	eventually(t, "the mandatory instance updates its own quota", func(context.Context) bool { return pods() == "4" })
}

const bindingTemplate = `apiVersion: config.kiosk.sh/v1alpha1
kind: Template
metadata:
  name: %s
parameters:
- name: ROLE
  required: true
- name: USER
  required: true
resources:
  manifests:
  - apiVersion: rbac.authorization.k8s.io/v1
    kind: RoleBinding
    metadata:
      name: ${ROLE}-${USER}
    roleRef:
      apiGroup: rbac.authorization.k8s.io
      kind: ClusterRole
      name: ${ROLE}
    subjects:
    - kind: User
      name: ${USER}
      apiGroup: rbac.authorization.k8s.io
`

// A tenant who may use a Template whose RoleBinding takes its role and subject from
// parameters cannot make the server bind its own ClusterRole to them: the binding is not
// made, the instance fails with reason Forbidden, and the tenant still cannot relabel their
// namespace. They cannot forge the recorded requester either. A role they hold is bound, and
// so is one the Template's author allow-lists.
func TestHoleTemplateBindsServerRole(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin := cluster.Admin()
	clients := cluster.AdminClients(t)
	tmpl := framework.UniqueName("hole-bind")
	t.Cleanup(func() { admin.Run(t, "delete", "template", tmpl, "--ignore-not-found").Deleted(t) })
	admin.Apply(t, fmt.Sprintf(bindingTemplate, tmpl)).Success(t)
	_, tenant, ns := tenantSpace(t, "hole-bind", "")
	grantTemplateUse(t, tmpl, tenant)
	as := cluster.As(tenant)
	escalate := instanceYAML("escalate", ns, tmpl, false, "ROLE", serverAccount, "USER", tenant)
	eventually(t, "the tenant may use the template", func(context.Context) bool { return as.Apply(t, escalate).Err == nil })

	failed := instanceStatus(t, ns, "escalate", configv1alpha1.TemplateInstanceStatusFailed)
	assert.Equal(t, "Forbidden", failed.Status.Reason)
	assert.Contains(t, failed.Status.Message, fmt.Sprintf(
		`RoleBinding %[1]s-%[2]s in namespace %[3]s binds ClusterRole %[1]s, which user %[2]q, who requested template instance %[3]s/escalate, may not bind: `+
			`that needs the verb bind on clusterroles.rbac.authorization.k8s.io %[1]q in namespace %[3]s, or every permission of the role; `+
			`or the Template's annotation template.config.kiosk.sh/allowed-roles naming ClusterRole/%[1]s`, serverAccount, tenant, ns))
	_, err := clients.Kube.RbacV1().RoleBindings(ns).Get(ctx, serverAccount+"-"+tenant, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the RoleBinding to the server's ClusterRole is not made: %v", err)
	// The server's ClusterRole may update namespaces: the tenant may not relabel theirs.
	nsYAML := as.Run(t, "get", "namespace", ns, "-o", "yaml").Success(t).Stdout
	relabelled := strings.Replace(nsYAML, "  labels:\n", "  labels:\n    escalated: \"true\"\n", 1)
	require.NotEqual(t, nsYAML, relabelled)
	r := as.RunWithInput(t, relabelled, "replace", "-f", "-").Failure(t)
	assert.Contains(t, r.Stderr, `cannot update resource "namespaces"`)

	// The recorded requester is the server's to write.
	requester := configv1alpha1.RequesterAnnotation
	forged := strings.Replace(instanceYAML("forged", ns, tmpl, false, "ROLE", serverAccount, "USER", tenant),
		"  namespace: "+ns+"\n", "  namespace: "+ns+"\n  annotations:\n    "+requester+": '{\"username\":\"admin\",\"groups\":[\"system:masters\"]}'\n", 1)
	r = as.Apply(t, forged).Failure(t)
	assert.Contains(t, r.Stderr, "metadata.annotations["+requester+"]: Forbidden: set by the server to the user who creates the template instance or changes its spec")
	r = as.Run(t, "annotate", "templateinstance", "escalate", "-n", ns, "--overwrite", requester+`={"username":"admin"}`).Failure(t)
	assert.Contains(t, r.Stderr, "metadata.annotations["+requester+"]: Forbidden: set by the server to the user who creates the template instance or changes its spec")
	recorded := admin.Run(t, "get", "templateinstance", "escalate", "-n", ns, "-o", "jsonpath={.metadata.annotations.templateinstance\\.config\\.kiosk\\.sh/requester}").Success(t).Stdout
	assert.Contains(t, recorded, `"username":"`+tenant+`"`)

	// A role the tenant holds in their Space (view, within admin) is bound.
	as.Apply(t, instanceYAML("view", ns, tmpl, false, "ROLE", "view", "USER", tenant+"-friend")).Success(t)
	instanceStatus(t, ns, "view", configv1alpha1.TemplateInstanceStatusDeployed)

	// kiosk-space-admin holds namespace delete, which the tenant does not: refused, until the
	// Template's author allow-lists it.
	as.Apply(t, instanceYAML("space-admin", ns, tmpl, false, "ROLE", "kiosk-space-admin", "USER", tenant)).Success(t)
	failed = instanceStatus(t, ns, "space-admin", configv1alpha1.TemplateInstanceStatusFailed)
	assert.Equal(t, "Forbidden", failed.Status.Reason)
	assert.Contains(t, failed.Status.Message, "binds ClusterRole kiosk-space-admin, which user "+fmt.Sprintf("%q", tenant))
	r = as.Run(t, "annotate", "template", tmpl, configv1alpha1.AllowedRolesAnnotation+"=ClusterRole/kiosk-space-admin").Failure(t)
	assert.Contains(t, r.Stderr, "forbidden")
	admin.Run(t, "annotate", "template", tmpl, configv1alpha1.AllowedRolesAnnotation+"=ClusterRole/kiosk-space-admin").Success(t)
	instanceStatus(t, ns, "space-admin", configv1alpha1.TemplateInstanceStatusDeployed)
	rb, err := clients.Kube.RbacV1().RoleBindings(ns).Get(ctx, "kiosk-space-admin-"+tenant, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "kiosk-space-admin", rb.RoleRef.Name)
	// The allow-list names that role only.
	_, err = clients.Kube.RbacV1().RoleBindings(ns).Get(ctx, serverAccount+"-"+tenant, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the server's ClusterRole is still not bound: %v", err)
}

// The server's ClusterRole updates namespaces, which RBAC cannot narrow to some labels: with
// the server's identity, an update that moves a namespace to another Account is refused by
// kube-apiserver's ValidatingAdmissionPolicy, and other label changes go through.
func TestServerCannotMoveNamespaces(t *testing.T) {
	t.Parallel()
	_, _, ns := tenantSpace(t, "server-move", "")
	server := cluster.As(serverUser)
	nsYAML := server.Run(t, "get", "namespace", ns, "-o", "yaml").Success(t).Stdout
	require.Contains(t, nsYAML, "    kiosk.sh/account: ")
	moved := regexp.MustCompile(`(?m)^    kiosk\.sh/account: .*$`).ReplaceAllString(nsYAML, "    kiosk.sh/account: someone-else")
	r := server.RunWithInput(t, moved, "replace", "-f", "-").Failure(t)
	assert.Contains(t, r.Stderr, "ValidatingAdmissionPolicy 'tenancy-apiserver-namespaces' with binding 'tenancy-apiserver-namespaces' denied request: "+
		"tenancy-apiserver never moves a namespace to another Account: its kiosk.sh/account label stays server-move-")
	relabelled := strings.Replace(nsYAML, "  labels:\n", "  labels:\n    tier: gold\n", 1)
	server.RunWithInput(t, relabelled, "replace", "-f", "-").Success(t)
}

// A tenant who may write the status of their own TemplateInstance cannot use it to mark the
// instance mandatory, move it to another Account, or make the server delete what it never
// applied: a write of /status changes the status only, and an instance deletes only objects
// that carry its own field manager.
func TestHoleInstanceStatusForgery(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin := cluster.Admin()
	clients := cluster.AdminClients(t)
	victimAccount, _, victimNs := tenantSpace(t, "hole-status-victim", "")
	_, tenant, ns := tenantSpace(t, "hole-status", "")
	tmpl := framework.UniqueName("hole-status-quota")
	t.Cleanup(func() { admin.Run(t, "delete", "template", tmpl, "--ignore-not-found").Deleted(t) })
	admin.Apply(t, quotaTemplate(tmpl, "5")).Success(t)
	grantTemplateUse(t, tmpl, tenant)
	grantInNamespace(t, ns+"-status", ns, tenant, configv1alpha1.GroupName, "[templateinstances/status]", "[get, update, patch]")

	as := cluster.As(tenant)
	eventually(t, "the tenant may use the template", func(context.Context) bool {
		return as.Apply(t, instanceYAML("forged", ns, tmpl, false)).Err == nil
	})
	instanceStatus(t, ns, "forged", configv1alpha1.TemplateInstanceStatusDeployed)

	patch := fmt.Sprintf(`{"metadata":{"labels":{%q:%q},"annotations":{%q:"true"}},`+
		`"status":{"appliedObjects":[{"apiVersion":"v1","kind":"Namespace","name":%q}]}}`,
		configv1alpha1.AccountLabel, victimAccount, configv1alpha1.MandatoryAnnotation, victimNs)
	as.Run(t, "patch", "templateinstance", "forged", "-n", ns, "--subresource=status", "--type=merge", "-p", patch).Success(t)
	ti, err := clients.Kiosk.ConfigV1alpha1().TemplateInstances(ns).Get(ctx, "forged", metav1.GetOptions{})
	require.NoError(t, err)
	assert.NotContains(t, ti.Annotations, configv1alpha1.MandatoryAnnotation, "a status write cannot mark the instance mandatory")
	assert.NotEqual(t, victimAccount, ti.Labels[configv1alpha1.AccountLabel], "a status write cannot move the instance to another Account")

	as.Run(t, "delete", "templateinstance", "forged", "-n", ns).Success(t)
	eventually(t, "the tenant's instance is gone", func(ctx context.Context) bool {
		_, err := clients.Kiosk.ConfigV1alpha1().TemplateInstances(ns).Get(ctx, "forged", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
	victim, err := clients.Kube.CoreV1().Namespaces().Get(ctx, victimNs, metav1.GetOptions{})
	require.NoError(t, err, "the other tenant's namespace is still there")
	assert.Nil(t, victim.DeletionTimestamp, "the server did not delete the other tenant's namespace")
}
