package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// placedObject is one object the server places in a Space, as kubectl names it.
type placedObject struct {
	kind, name string
	resource   schema.GroupVersionResource
}

func (o placedObject) ref() string { return o.kind + "/" + o.name }

// protectedSpace is a tenant's Space of an Account with a mandatory guard-rails Template
// (a ResourceQuota and a LimitRange, see newMandatoryGuardRails) and Account network
// isolation, with the objects the
// server placed in it. The tenant may also write ResourceQuotas and LimitRanges there (the
// admin role does not), so that only the protection refuses them.
type protectedSpace struct {
	account, tenant, space, instance string
	placed                           []placedObject
}

func newProtectedSpace(t *testing.T, prefix string) protectedSpace {
	t.Helper()
	g := newMandatoryGuardRails(t, prefix, "admin")
	p := protectedSpace{account: g.account, tenant: g.tenant, space: g.space, instance: g.instance}
	cluster.Admin().Run(t, "patch", "accounts.config.kiosk.sh", p.account, "--type=merge", "-p",
		`{"spec":{"isolation":{"network":{"mode":"Account"}}}}`).Success(t)
	grantInNamespace(t, p.account+"-guard-writer", p.space, p.tenant, "", "[resourcequotas, limitranges]", "[create, update, patch, delete, deletecollection]")
	p.placed = []placedObject{
		{"rolebinding", "kiosk-account-" + p.account, schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}},
		{"networkpolicy", "kiosk-isolation", schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}},
		{"resourcequota", "guard-quota", schema.GroupVersionResource{Version: "v1", Resource: "resourcequotas"}},
		{"limitrange", "guard-limits", schema.GroupVersionResource{Version: "v1", Resource: "limitranges"}},
	}
	for _, o := range p.placed {
		eventually(t, o.ref()+" is placed and protected", func(context.Context) bool {
			r := cluster.Admin().Run(t, "get", o.ref(), "-n", p.space, "-o", `jsonpath={.metadata.labels.tenancy\.kiosk\.sh/protected}`)
			return r.Err == nil && r.Stdout == "true"
		})
	}
	return p
}

// uid is the UID of o, which tells whether it was deleted and created again.
func (p protectedSpace) uid(t *testing.T, o placedObject) string {
	t.Helper()
	return cluster.Admin().Run(t, "get", o.ref(), "-n", p.space, "-o", "jsonpath={.metadata.uid}").Success(t).Stdout
}

// refusal is the message of the protection policy for a verb (delete, update) on resource.
func refusal(verb, resource string) string {
	return fmt.Sprintf("denied request: placed in the Space by tenancy-apiserver for its Account: %sd by admins only (who may %s %s in all namespaces)",
		verb, verb, resource)
}

// A tenant cannot delete, edit, patch, apply over, replace or unlabel what the server
// placed in their Space (the Account's RoleBinding, the isolation NetworkPolicy, the objects
// of the mandatory TemplateInstance) through kube-apiserver, by any verb, and each object
// stays as it was (same UID, same content).
func TestIsolationProtectedObjectsRefuseTenants(t *testing.T) {
	t.Parallel()
	p := newProtectedSpace(t, "iso-prot")
	tenant := cluster.As(p.tenant)
	for _, o := range p.placed {
		t.Run(o.kind, func(t *testing.T) {
			before := p.uid(t, o)
			resource := o.resource.Resource
			current := cluster.Admin().Run(t, "get", o.ref(), "-n", p.space, "-o", "yaml").Success(t).Stdout
			for _, tc := range []struct {
				name, stdin, refused string
				args                 []string
			}{
				{name: "delete", args: []string{"delete", o.ref()}, refused: refusal("delete", resource)},
				{name: "annotate", args: []string{"annotate", o.ref(), "mine=yes"}, refused: refusal("update", resource)},
				{name: "merge patch", args: []string{"patch", o.ref(), "--type=merge", "-p", `{"metadata":{"labels":{"team":"me"}}}`},
					refused: refusal("update", resource)},
				{name: "json patch of the label", args: []string{"patch", o.ref(), "--type=json", "-p",
					`[{"op":"remove","path":"/metadata/labels/tenancy.kiosk.sh~1protected"}]`},
					refused: "denied request: metadata.labels[tenancy.kiosk.sh/protected]: placed in the Space by tenancy-apiserver for its Account: only admins mark objects protected or unmark them"},
				{name: "label removal", args: []string{"label", o.ref(), "tenancy.kiosk.sh/protected-"},
					refused: "metadata.labels[tenancy.kiosk.sh/protected]: placed in the Space by tenancy-apiserver"},
				{name: "replace", args: []string{"replace", "-f", "-"}, stdin: strings.Replace(current, "\n  labels:\n", "\n  labels:\n    team: me\n", 1),
					refused: refusal("update", resource)},
				{name: "server-side apply", args: []string{"apply", "--server-side", "--force-conflicts", "--field-manager=tenant", "-f", "-"},
					stdin:   fmt.Sprintf("apiVersion: %s\nkind: %s\nmetadata:\n  name: %s\n  labels:\n    team: me\n", apiVersion(o.resource), kindOf(current), o.name),
					refused: refusal("update", resource)},
			} {
				args := append(append([]string{}, tc.args...), "-n", p.space)
				var r framework.Result
				if tc.stdin != "" {
					r = tenant.RunWithInput(t, tc.stdin, args...).Failure(t)
				} else {
					r = tenant.Run(t, args...).Failure(t)
				}
				assert.Contains(t, r.Stderr, tc.refused, tc.name)
				assert.Contains(t, r.Stderr, "is forbidden: ValidatingAdmissionPolicy 'tenancy-apiserver-protected'", tc.name)
			}
			after := cluster.Admin().Run(t, "get", o.ref(), "-n", p.space, "-o", "yaml").Success(t).Stdout
			assert.Equal(t, before, p.uid(t, o), "never deleted")
			assert.Equal(t, current, after, "never changed")
		})
	}
}

func apiVersion(r schema.GroupVersionResource) string {
	if r.Group == "" {
		return r.Version
	}
	return r.Group + "/" + r.Version
}

// kindOf is the kind of an object in YAML.
func kindOf(yaml string) string {
	for _, line := range strings.Split(yaml, "\n") {
		if k, ok := strings.CutPrefix(line, "kind: "); ok {
			return k
		}
	}
	return ""
}

// deletecollection (sent through the API: kubectl's `delete --all` deletes one by one) is
// refused for the protected objects, which stay, and takes the tenant's own; a tenant cannot
// create an object marked protected, nor mark one of theirs; their own objects are theirs to
// write.
func TestIsolationProtectedObjectsDeleteCollection(t *testing.T) {
	t.Parallel()
	p := newProtectedSpace(t, "iso-prot-dc")
	tenant := cluster.As(p.tenant)
	ctx := context.Background()
	own := map[string]string{
		"limitrange":    "apiVersion: v1\nkind: LimitRange\nmetadata:\n  name: mine\nspec:\n  limits:\n  - type: Container\n    max:\n      cpu: \"2\"\n",
		"networkpolicy": "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: mine\nspec:\n  podSelector: {}\n",
		"rolebinding": fmt.Sprintf("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: mine\nroleRef:\n"+
			"  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: view\nsubjects:\n- kind: User\n  name: %s\n  apiGroup: rbac.authorization.k8s.io\n", p.tenant),
		"resourcequota": "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: mine\nspec:\n  hard:\n    pods: \"10\"\n",
	}
	dyn := cluster.ClientsAs(t, p.tenant).Dynamic
	// RoleBindings last: deleting them all takes the tenant's own grant to write quotas.
	for _, o := range append(p.placed[1:], p.placed[0]) {
		t.Run(o.kind, func(t *testing.T) {
			before := p.uid(t, o)
			tenant.RunWithInput(t, own[o.kind], "apply", "-n", p.space, "-f", "-").Success(t)
			tenant.Run(t, "label", o.kind+"/mine", "-n", p.space, "team=me").Success(t)

			r := tenant.Run(t, "label", o.kind+"/mine", "-n", p.space, "tenancy.kiosk.sh/protected=true").Failure(t)
			assert.Contains(t, r.Stderr, "metadata.labels[tenancy.kiosk.sh/protected]: placed in the Space by tenancy-apiserver for its Account: only admins mark objects protected or unmark them")
			forged := strings.Replace(own[o.kind], "name: mine\n", "name: forged\n  labels:\n    tenancy.kiosk.sh/protected: \"true\"\n", 1)
			r = tenant.RunWithInput(t, forged, "create", "-n", p.space, "-f", "-").Failure(t)
			assert.Contains(t, r.Stderr, "metadata.labels[tenancy.kiosk.sh/protected]: placed in the Space by tenancy-apiserver for its Account: only admins mark objects protected or unmark them")

			err := dyn.Resource(o.resource).Namespace(p.space).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{})
			require.Error(t, err, "deletecollection cannot take the protected %s", o.kind)
			assert.Contains(t, err.Error(), refusal("delete", o.resource.Resource))
			assert.Equal(t, before, p.uid(t, o), "the protected object stays")
			// The tenant's own objects are not held.
			require.NoError(t, dyn.Resource(o.resource).Namespace(p.space).DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "team=me"}))
			cluster.Admin().Run(t, "get", o.kind+"/mine", "-n", p.space).Failure(t)
			assert.Equal(t, before, p.uid(t, o))
		})
	}
}

// The mandatory TemplateInstance, served by tenancy-apiserver itself, is held by its own
// admission: the tenant's delete, edit and deletecollection are refused naming it; its
// objects stay.
func TestIsolationProtectedMandatoryInstance(t *testing.T) {
	t.Parallel()
	p := newProtectedSpace(t, "iso-prot-ti")
	tenant := cluster.As(p.tenant)
	r := tenant.Run(t, "delete", "templateinstance", p.instance, "-n", p.space, "--timeout=30s").Failure(t)
	assert.Contains(t, r.Stderr, fmt.Sprintf(`templateinstances.config.kiosk.sh %q is forbidden: mandatory template instance of account %q is deleted by the account only`, p.instance, p.account))
	r = tenant.Run(t, "patch", "templateinstance", p.instance, "-n", p.space, "--type=merge", "-p", `{"spec":{"parameters":[{"name":"PODS","value":"100"}]}}`).Failure(t)
	assert.Contains(t, r.Stderr, fmt.Sprintf(`templateinstances.config.kiosk.sh %q is forbidden: spec.parameters: mandatory template instance of account %q is set by the account only`, p.instance, p.account))
	r = tenant.Run(t, "annotate", "templateinstance", p.instance, "-n", p.space, "templateinstance.config.kiosk.sh/mandatory-").Failure(t)
	assert.Contains(t, r.Stderr, fmt.Sprintf(`templateinstances.config.kiosk.sh %q is forbidden: metadata.annotations[templateinstance.config.kiosk.sh/mandatory]`, p.instance))

	// With deletecollection granted, so that only the admission refuses it.
	grantInNamespace(t, p.account+"-ti-collector", p.space, p.tenant, "config.kiosk.sh", "[templateinstances]", "[deletecollection]")
	err := cluster.ClientsAs(t, p.tenant).Kiosk.ConfigV1alpha1().TemplateInstances(p.space).DeleteCollection(context.Background(), metav1.DeleteOptions{}, metav1.ListOptions{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), fmt.Sprintf(`templateinstances.config.kiosk.sh %q is forbidden: mandatory template instance of account %q is deleted by the account only`, p.instance, p.account))
	cluster.Admin().Run(t, "get", "templateinstance", p.instance, "-n", p.space).Success(t)
	for _, o := range p.placed {
		cluster.Admin().Run(t, "get", o.ref(), "-n", p.space).Success(t)
	}
}

// Admins are not held back: they edit and delete what the server placed, and the server
// sets its objects back at once.
func TestIsolationProtectedObjectsAdmins(t *testing.T) {
	t.Parallel()
	p := newProtectedSpace(t, "iso-prot-admin")
	admin := cluster.Admin()
	for _, o := range p.placed {
		admin.Run(t, "annotate", o.ref(), "-n", p.space, "reviewed=yes").Success(t)
	}
	for _, o := range p.placed[:2] { // the Account's RoleBinding and the NetworkPolicy
		before := p.uid(t, o)
		admin.Run(t, "delete", o.ref(), "-n", p.space).Success(t)
		eventually(t, o.ref()+" is placed again", func(context.Context) bool {
			r := admin.Run(t, "get", o.ref(), "-n", p.space, "-o", "jsonpath={.metadata.uid}")
			return r.Err == nil && r.Stdout != "" && r.Stdout != before
		})
	}
}
