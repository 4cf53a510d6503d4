package templateinstance

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/accounts"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

// maxRuleChecks bounds the access reviews spent on proving that a requester holds every
// permission of one role; a larger role needs the verb bind or escalate instead.
const maxRuleChecks = 2000

// authorizeRBAC refuses a Role, ClusterRole, RoleBinding or ClusterRoleBinding of ti's
// Template that ti's requester could not create themselves, as kube-apiserver's RBAC
// escalation check would judge it: a binding needs the verb bind on its role, or every
// permission of the role; a role needs the verb escalate, or every permission it grants.
// The server applies with its own identity, which may hold more than the requester.
// Mandatory instances are the Account's, written by an admin, and roles the Template's
// AllowedRolesAnnotation names are the Template author's choice: both pass.
func (c *Controller) authorizeRBAC(ctx context.Context, ti *configv1alpha1.TemplateInstance, tmpl *configv1alpha1.Template, obj *unstructured.Unstructured) error {
	gvk := obj.GroupVersionKind()
	if gvk.Group != rbacv1.GroupName || accounts.IsMandatory(ti) {
		return nil
	}
	allowed := allowedRoles(tmpl.Annotations[configv1alpha1.AllowedRolesAnnotation])
	namespace := obj.GetNamespace()
	var (
		roleKind, roleName, verb string
		rules                    func() ([]rbacv1.PolicyRule, bool, error)
		what                     string
	)
	switch gvk.Kind {
	case "RoleBinding", "ClusterRoleBinding":
		var b struct {
			RoleRef rbacv1.RoleRef `json:"roleRef"`
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &b); err != nil {
			return &refusal{Reason: ReasonForbidden, Message: fmt.Sprintf("%s %s: reading roleRef: %v", gvk.Kind, obj.GetName(), err)}
		}
		roleKind, roleName, verb = b.RoleRef.Kind, b.RoleRef.Name, "bind"
		what = fmt.Sprintf("%s %s%s binds %s %s", gvk.Kind, obj.GetName(), in(namespace), roleKind, roleName)
		rules = func() ([]rbacv1.PolicyRule, bool, error) { return c.roleRules(ctx, roleKind, roleName, namespace) }
	case "Role", "ClusterRole":
		var r struct {
			Rules           []rbacv1.PolicyRule     `json:"rules"`
			AggregationRule *rbacv1.AggregationRule `json:"aggregationRule"`
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &r); err != nil {
			return &refusal{Reason: ReasonForbidden, Message: fmt.Sprintf("%s %s: reading rules: %v", gvk.Kind, obj.GetName(), err)}
		}
		roleKind, roleName, verb = gvk.Kind, obj.GetName(), "escalate"
		what = fmt.Sprintf("%s %s%s", gvk.Kind, obj.GetName(), in(namespace))
		// A role that aggregates others grants what they grant: only escalate proves enough.
		rules = func() ([]rbacv1.PolicyRule, bool, error) { return r.Rules, r.AggregationRule == nil, nil }
	default:
		return nil
	}
	if allowed.has(roleKind, roleName) {
		return nil
	}
	requester, err := requesterOf(ti)
	if err != nil {
		return &refusal{Reason: ReasonForbidden, Message: fmt.Sprintf("%s: %v", what, err)}
	}
	resource := "roles"
	if roleKind == "ClusterRole" {
		resource = "clusterroles"
	}
	ok, err := c.allowed(ctx, requester, authorizationv1.ResourceAttributes{
		Verb: verb, Group: rbacv1.GroupName, Resource: resource, Name: roleName, Namespace: namespace})
	if err != nil || ok {
		return err
	}
	granted, complete, err := rules()
	if err != nil {
		return err
	}
	if complete {
		if ok, err := c.holdsAll(ctx, requester, granted, namespace); err != nil || ok {
			return err
		}
	}
	return &refusal{Reason: ReasonForbidden, Message: fmt.Sprintf(
		"%s, which user %q, who requested template instance %s/%s, may not %s: that needs the verb %s on %s.rbac.authorization.k8s.io %q%s, or every permission of the role; or the Template's annotation %s naming %s/%s",
		what, requester.Username, ti.Namespace, ti.Name, bindOrCreate(verb), verb, resource, roleName, in(namespace),
		configv1alpha1.AllowedRolesAnnotation, roleKind, roleName)}
}

func bindOrCreate(verb string) string {
	if verb == "bind" {
		return "bind"
	}
	return "create"
}

func in(namespace string) string {
	if namespace == "" {
		return ""
	}
	return " in namespace " + namespace
}

// requesterOf reads the user recorded on ti at create.
func requesterOf(ti *configv1alpha1.TemplateInstance) (authenticationv1.UserInfo, error) {
	var u authenticationv1.UserInfo
	raw, ok := ti.Annotations[configv1alpha1.RequesterAnnotation]
	if !ok {
		return u, fmt.Errorf("template instance %s/%s has no %s annotation (it was created before requesters were recorded); create it again",
			ti.Namespace, ti.Name, configv1alpha1.RequesterAnnotation)
	}
	if err := json.Unmarshal([]byte(raw), &u); err != nil || u.Username == "" {
		return u, fmt.Errorf("template instance %s/%s: annotation %s does not name a user", ti.Namespace, ti.Name, configv1alpha1.RequesterAnnotation)
	}
	return u, nil
}

// roleRules returns the rules of the role a binding refers to, and false when it does not
// exist (then only the verb bind lets the requester bind it).
func (c *Controller) roleRules(ctx context.Context, kind, name, namespace string) ([]rbacv1.PolicyRule, bool, error) {
	switch kind {
	case "ClusterRole":
		r, err := c.kube.RbacV1().ClusterRoles().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		return r.Rules, true, nil
	case "Role":
		if namespace == "" {
			return nil, false, nil
		}
		r, err := c.kube.RbacV1().Roles(namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		return r.Rules, true, nil
	}
	return nil, false, nil
}

// holdsAll reports whether requester holds every permission of rules in namespace ("" for
// cluster-wide), asking one access review per verb, resource and name. Wildcards are asked
// as they are, so only a wildcard grant covers them.
func (c *Controller) holdsAll(ctx context.Context, requester authenticationv1.UserInfo, rules []rbacv1.PolicyRule, namespace string) (bool, error) {
	checks := 0
	ask := func(attrs *authorizationv1.ResourceAttributes, nonResource *authorizationv1.NonResourceAttributes) (bool, error) {
		if checks++; checks > maxRuleChecks {
			return false, nil
		}
		if attrs != nil {
			return c.allowed(ctx, requester, *attrs)
		}
		return c.allowedNonResource(ctx, requester, *nonResource)
	}
	for _, rule := range rules {
		for _, verb := range rule.Verbs {
			for _, url := range rule.NonResourceURLs {
				if ok, err := ask(nil, &authorizationv1.NonResourceAttributes{Path: url, Verb: verb}); err != nil || !ok {
					return false, err
				}
			}
			names := rule.ResourceNames
			if len(names) == 0 {
				names = []string{""}
			}
			for _, group := range rule.APIGroups {
				for _, res := range rule.Resources {
					resource, subresource, _ := strings.Cut(res, "/")
					for _, name := range names {
						ok, err := ask(&authorizationv1.ResourceAttributes{Verb: verb, Group: group, Resource: resource,
							Subresource: subresource, Name: name, Namespace: namespace}, nil)
						if err != nil || !ok {
							return false, err
						}
					}
				}
			}
		}
	}
	return true, nil
}

func (c *Controller) allowed(ctx context.Context, u authenticationv1.UserInfo, attrs authorizationv1.ResourceAttributes) (bool, error) {
	return c.review(ctx, u, authorizationv1.SubjectAccessReviewSpec{ResourceAttributes: &attrs})
}

func (c *Controller) allowedNonResource(ctx context.Context, u authenticationv1.UserInfo, attrs authorizationv1.NonResourceAttributes) (bool, error) {
	return c.review(ctx, u, authorizationv1.SubjectAccessReviewSpec{NonResourceAttributes: &attrs})
}

func (c *Controller) review(ctx context.Context, u authenticationv1.UserInfo, spec authorizationv1.SubjectAccessReviewSpec) (bool, error) {
	spec.User, spec.UID, spec.Groups = u.Username, u.UID, u.Groups
	if len(u.Extra) > 0 {
		spec.Extra = make(map[string]authorizationv1.ExtraValue, len(u.Extra))
		for k, v := range u.Extra {
			spec.Extra[k] = authorizationv1.ExtraValue(v)
		}
	}
	r, err := c.kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: spec}, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("asking kube-apiserver whether %q may %s: %w", u.Username, describe(spec), err)
	}
	return r.Status.Allowed, nil
}

func describe(spec authorizationv1.SubjectAccessReviewSpec) string {
	if a := spec.ResourceAttributes; a != nil {
		return fmt.Sprintf("%s %s.%s %q in %q", a.Verb, a.Resource, a.Group, a.Name, a.Namespace)
	}
	return fmt.Sprintf("%s %s", spec.NonResourceAttributes.Verb, spec.NonResourceAttributes.Path)
}

// roleSet is a Template's AllowedRolesAnnotation: kind/name entries, and bare names that
// stand for either kind.
type roleSet map[string]bool

func allowedRoles(annotation string) roleSet {
	s := roleSet{}
	for _, e := range strings.Split(annotation, ",") {
		if e = strings.TrimSpace(e); e != "" {
			s[e] = true
		}
	}
	return s
}

func (s roleSet) has(kind, name string) bool { return s[name] || s[kind+"/"+name] }

// authorizeTakeover refuses to apply over live, an object that exists and that ti did not
// apply (an admin's ResourceQuota, the tenant's own Deployment, an object of the server's),
// unless ti is mandatory (the Account's, set by an admin) or ti's requester may patch it
// themselves, and the object is not one the server placed for the Account (ProtectedLabel): the server's identity writes what the requester cannot, and would otherwise
// take such an object over and, with the instance, delete it.
func (c *Controller) authorizeTakeover(ctx context.Context, ti *configv1alpha1.TemplateInstance, gvk schema.GroupVersionKind, live *unstructured.Unstructured) error {
	if appliedBy(ti, live) || accounts.IsMandatory(ti) {
		return nil
	}
	m, err := c.mapping(gvk)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("%s %s%s", gvk.Kind, live.GetName(), in(live.GetNamespace()))
	if _, ok := live.GetLabels()[configv1alpha1.ProtectedLabel]; ok {
		return &refusal{Reason: ReasonForbidden, Message: fmt.Sprintf(
			"%s was placed by tenancy-apiserver for the Account (label %s): only a mandatory template instance applies over it",
			what, configv1alpha1.ProtectedLabel)}
	}
	requester, err := requesterOf(ti)
	if err != nil {
		return &refusal{Reason: ReasonForbidden, Message: fmt.Sprintf("%s exists and was not applied by this instance: %v", what, err)}
	}
	ok, err := c.allowed(ctx, requester, authorizationv1.ResourceAttributes{
		Verb: "patch", Group: m.Resource.Group, Resource: m.Resource.Resource, Name: live.GetName(), Namespace: live.GetNamespace()})
	if err != nil || ok {
		return err
	}
	return &refusal{Reason: ReasonForbidden, Message: fmt.Sprintf(
		"%s exists and was not applied by template instance %s/%s, and user %q, who requested it, may not patch it",
		what, ti.Namespace, ti.Name, requester.Username)}
}
