package templateinstance

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

// reviews answers SubjectAccessReviews of user dev from grants ("verb resource.group/name@namespace"), and
// counts them.
type reviews struct {
	grants map[string]bool
	asked  int
}

func (r *reviews) react(action clienttesting.Action) (bool, runtime.Object, error) {
	sar := action.(clienttesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview)
	r.asked++
	if sar.Spec.User != "dev" || len(sar.Spec.Groups) != 1 || sar.Spec.Groups[0] != "team" {
		return true, nil, errors.New("asked for someone else than the requester")
	}
	key := ""
	if a := sar.Spec.ResourceAttributes; a != nil {
		res := a.Resource
		if a.Subresource != "" {
			res += "/" + a.Subresource
		}
		key = fmt.Sprintf("%s %s.%s/%s@%s", a.Verb, res, a.Group, a.Name, a.Namespace)
	} else {
		key = sar.Spec.NonResourceAttributes.Verb + " " + sar.Spec.NonResourceAttributes.Path
	}
	sar.Status.Allowed = r.grants[key]
	return true, sar, nil
}

func rbacObject(t *testing.T, obj runtime.Object) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	require.NoError(t, err)
	return &unstructured.Unstructured{Object: m}
}

func binding(role string) *unstructured.Unstructured {
	rb := &rbacv1.RoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "space", Name: "granted"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: "dev"}},
	}
	m, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(rb)
	return &unstructured.Unstructured{Object: m}
}

func TestAuthorizeRBAC(t *testing.T) {
	viewRules := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}, Verbs: []string{"get", "list"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, ResourceNames: []string{"web"}, Verbs: []string{"get"}},
	}
	viewGrants := map[string]bool{
		"get pods./@space": true, "list pods./@space": true, "get pods/log./@space": true, "list pods/log./@space": true,
		"get deployments.apps/web@space": true,
	}
	role := func(rules []rbacv1.PolicyRule, aggregate bool) *unstructured.Unstructured {
		r := &rbacv1.Role{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
			ObjectMeta: metav1.ObjectMeta{Namespace: "space", Name: "reader"}, Rules: rules}
		if aggregate {
			c := &rbacv1.ClusterRole{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
				ObjectMeta: metav1.ObjectMeta{Name: "reader"}, Rules: rules,
				AggregationRule: &rbacv1.AggregationRule{ClusterRoleSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"a": "b"}}}}}
			return rbacObject(t, c)
		}
		return rbacObject(t, r)
	}
	requester := `{"username":"dev","groups":["team"]}`
	for _, tc := range []struct {
		name        string
		obj         *unstructured.Unstructured
		grants      map[string]bool
		annotations map[string]string
		allowList   string
		refused     string
	}{
		{name: "a binding of a role the requester may bind", obj: binding("tenancy-apiserver"),
			grants: map[string]bool{"bind clusterroles.rbac.authorization.k8s.io/tenancy-apiserver@space": true}},
		{name: "a binding of the server's role", obj: binding("tenancy-apiserver"),
			refused: `RoleBinding granted in namespace space binds ClusterRole tenancy-apiserver, which user "dev", who requested template instance space/ti, may not bind: ` +
				`that needs the verb bind on clusterroles.rbac.authorization.k8s.io "tenancy-apiserver" in namespace space, or every permission of the role; ` +
				`or the Template's annotation template.config.kiosk.sh/allowed-roles naming ClusterRole/tenancy-apiserver`},
		{name: "a binding of a role whose permissions the requester holds", obj: binding("view"), grants: viewGrants},
		{name: "a binding of a role with one permission the requester lacks", obj: binding("view"),
			grants: map[string]bool{"get pods./@space": true}, refused: "binds ClusterRole view"},
		{name: "a binding of a role that does not exist", obj: binding("missing"), refused: "binds ClusterRole missing"},
		{name: "an allow-listed role", obj: binding("tenancy-apiserver"), allowList: "view, ClusterRole/tenancy-apiserver"},
		{name: "a bare allow-listed name", obj: binding("tenancy-apiserver"), allowList: "tenancy-apiserver"},
		{name: "an allow-list of the other kind", obj: binding("tenancy-apiserver"), allowList: "Role/tenancy-apiserver", refused: "binds ClusterRole tenancy-apiserver"},
		{name: "a mandatory instance", obj: binding("tenancy-apiserver"), annotations: map[string]string{configv1alpha1.MandatoryAnnotation: "true"}},
		{name: "an instance without a requester", obj: binding("tenancy-apiserver"), annotations: map[string]string{},
			refused: "template instance space/ti has no templateinstance.config.kiosk.sh/requester annotation"},
		{name: "a role the requester may escalate", obj: role(viewRules, false),
			grants: map[string]bool{"escalate roles.rbac.authorization.k8s.io/reader@space": true}},
		{name: "a role within the requester's permissions", obj: role(viewRules, false), grants: viewGrants},
		{name: "a role beyond them", obj: role([]rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}, false),
			grants: viewGrants, refused: `Role reader in namespace space, which user "dev", who requested template instance space/ti, may not create: that needs the verb escalate on roles.rbac.authorization.k8s.io "reader"`},
		{name: "an aggregated role needs escalate", obj: role(viewRules, true), grants: viewGrants, refused: "ClusterRole reader"},
		{name: "not an RBAC kind", obj: quota("uid-q")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &reviews{grants: tc.grants}
			kube := fake.NewClientset(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "view"}, Rules: viewRules},
				&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "tenancy-apiserver"}, Rules: []rbacv1.PolicyRule{
					{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"update"}}}})
			kube.PrependReactor("create", "subjectaccessreviews", r.react)
			c := &Controller{kube: kube}
			ti := instance("space", "ti", "uid-ti")
			ti.Annotations = tc.annotations
			if ti.Annotations == nil {
				ti.Annotations = map[string]string{configv1alpha1.RequesterAnnotation: requester}
			}
			tmpl := &configv1alpha1.Template{}
			if tc.allowList != "" {
				tmpl.Annotations = map[string]string{configv1alpha1.AllowedRolesAnnotation: tc.allowList}
			}
			err := c.authorizeRBAC(context.Background(), ti, tmpl, tc.obj)
			if tc.refused == "" {
				assert.NoError(t, err)
				return
			}
			var refused *refusal
			require.ErrorAs(t, err, &refused)
			assert.Equal(t, ReasonForbidden, refused.Reason)
			assert.Contains(t, refused.Message, tc.refused)
		})
	}
}

// A role too large to check permission by permission needs the verb bind.
func TestAuthorizeRBACBoundsReviews(t *testing.T) {
	names := make([]string, maxRuleChecks+10)
	grants := map[string]bool{}
	for i := range names {
		names[i] = fmt.Sprintf("cm-%d", i)
		grants["get configmaps./"+names[i]+"@space"] = true
	}
	r := &reviews{grants: grants}
	kube := fake.NewClientset(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "big"}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: names, Verbs: []string{"get"}}}})
	kube.PrependReactor("create", "subjectaccessreviews", r.react)
	c := &Controller{kube: kube}
	ti := instance("space", "ti", "uid-ti")
	ti.Annotations = map[string]string{configv1alpha1.RequesterAnnotation: `{"username":"dev","groups":["team"]}`}
	err := c.authorizeRBAC(context.Background(), ti, &configv1alpha1.Template{}, binding("big"))
	var refused *refusal
	require.ErrorAs(t, err, &refused)
	assert.LessOrEqual(t, r.asked, maxRuleChecks+1)
}
