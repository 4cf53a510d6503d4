package access

import (
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
)

// Request is a resource request as the RBAC authorizer sees it: no subresource, one name.
type Request struct {
	Verb     string
	APIGroup string
	Resource string
	// Subresource is empty for the requests the index answers; it is here so that rule
	// matching can be tested in every form the RBAC authorizer knows.
	Subresource string
	Name        string
}

// RuleAllows reports whether rule allows req, with the semantics of kube-apiserver's RBAC
// authorizer: "*" matches any verb, group or resource, "*/sub" matches any resource's
// subresource sub, an empty resourceNames list matches every name, and a rule made only of
// nonResourceURLs matches no resource request.
func RuleAllows(rule *rbacv1.PolicyRule, req Request) bool {
	resource := req.Resource
	if req.Subresource != "" {
		resource += "/" + req.Subresource
	}
	return matchesAny(rule.Verbs, req.Verb, rbacv1.VerbAll) &&
		matchesAny(rule.APIGroups, req.APIGroup, rbacv1.APIGroupAll) &&
		resourceMatches(rule.Resources, resource, req.Subresource) &&
		(len(rule.ResourceNames) == 0 || slices.Contains(rule.ResourceNames, req.Name))
}

func matchesAny(values []string, want, wildcard string) bool {
	for _, v := range values {
		if v == wildcard || v == want {
			return true
		}
	}
	return false
}

func resourceMatches(rules []string, combined, subresource string) bool {
	for _, r := range rules {
		if r == rbacv1.ResourceAll || r == combined {
			return true
		}
		if subresource != "" && r == "*/"+subresource {
			return true
		}
	}
	return false
}

// target is what the index asks of a role: may one `get` a kind of object, by any name or
// by some names.
type target struct {
	apiGroup string
	resource string
}

var (
	namespacesTarget = target{apiGroup: "", resource: "namespaces"}
	accountsTarget   = target{apiGroup: "config.kiosk.sh", resource: "accounts"}
)

// grant is what a role allows on one target: `get` of every name, or of the listed names.
type grant struct {
	all   bool
	names []string // sorted, deduplicated; empty when all is set
}

func (g grant) allows(name string) bool {
	if g.all {
		return true
	}
	_, found := slices.BinarySearch(g.names, name)
	return found
}

func (g grant) empty() bool { return !g.all && len(g.names) == 0 }

func (g grant) equal(o grant) bool { return g.all == o.all && slices.Equal(g.names, o.names) }

// summarize resolves rules once into what they grant on t, so that a binding to the role
// costs a lookup instead of a rule walk.
func summarize(rules []rbacv1.PolicyRule, t target) grant {
	var names []string
	for i := range rules {
		rule := &rules[i]
		if !matchesAny(rule.Verbs, "get", rbacv1.VerbAll) ||
			!matchesAny(rule.APIGroups, t.apiGroup, rbacv1.APIGroupAll) ||
			!resourceMatches(rule.Resources, t.resource, "") {
			continue
		}
		if len(rule.ResourceNames) == 0 {
			return grant{all: true}
		}
		names = append(names, rule.ResourceNames...)
	}
	slices.Sort(names)
	return grant{names: slices.Compact(names)}
}

// Subject is who asks: a user name and the user's groups, as authentication reported them.
type Subject struct {
	User   string
	Groups []string
}

const (
	userPrefix           = "u:"
	groupPrefix          = "g:"
	serviceAccountPrefix = "system:serviceaccount:"
)

// keys are the index keys the subject is known by.
func (s Subject) keys() []string {
	keys := make([]string, 0, len(s.Groups)+1)
	keys = append(keys, userPrefix+s.User)
	for _, g := range s.Groups {
		keys = append(keys, groupPrefix+g)
	}
	return keys
}

// subjectKey is the index key of a binding subject, or "" if the subject can match nobody.
// bindingNamespace is the namespace of a RoleBinding ("" for a ClusterRoleBinding or an
// Account): RBAC defaults a service account subject without a namespace to it.
func subjectKey(s rbacv1.Subject, bindingNamespace string) string {
	switch s.Kind {
	case rbacv1.UserKind:
		return userPrefix + s.Name
	case rbacv1.GroupKind:
		return groupPrefix + s.Name
	case rbacv1.ServiceAccountKind:
		ns := s.Namespace
		if ns == "" {
			ns = bindingNamespace
		}
		if ns == "" {
			return ""
		}
		return userPrefix + serviceAccountPrefix + ns + ":" + s.Name
	default:
		return ""
	}
}

// subjectKeys are the distinct keys of subjects, sorted.
func subjectKeys(subjects []rbacv1.Subject, bindingNamespace string) []string {
	keys := make([]string, 0, len(subjects))
	for _, s := range subjects {
		if k := subjectKey(s, bindingNamespace); k != "" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// IsSubject reports whether the subject matches one of subjects, as an RBAC
// ClusterRoleBinding with those subjects would.
func IsSubject(s Subject, subjects []rbacv1.Subject) bool {
	mine := s.keys()
	for _, sub := range subjects {
		if k := subjectKey(sub, ""); k != "" && slices.Contains(mine, k) {
			return true
		}
	}
	return false
}
