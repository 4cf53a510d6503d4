package access

import (
	"testing"

	"github.com/stretchr/testify/assert"
	rbacv1 "k8s.io/api/rbac/v1"
)

func TestRuleAllows(t *testing.T) {
	getNS := Request{Verb: "get", Resource: "namespaces", Name: "team-a"}
	tests := []struct {
		name string
		rule rbacv1.PolicyRule
		req  Request
		want bool
	}{
		{"exact", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"namespaces"}}, getNS, true},
		{"verb wildcard", rbacv1.PolicyRule{Verbs: []string{"*"}, APIGroups: []string{""}, Resources: []string{"namespaces"}}, getNS, true},
		{"other verb", rbacv1.PolicyRule{Verbs: []string{"list", "watch"}, APIGroups: []string{""}, Resources: []string{"namespaces"}}, getNS, false},
		{"group wildcard", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{"*"}, Resources: []string{"namespaces"}}, getNS, true},
		{"other group", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{"apps"}, Resources: []string{"namespaces"}}, getNS, false},
		{"no group", rbacv1.PolicyRule{Verbs: []string{"get"}, Resources: []string{"namespaces"}}, getNS, false},
		{"resource wildcard", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"*"}}, getNS, true},
		{"subresource rule does not grant the resource", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"namespaces/status"}}, getNS, false},
		{"star-slash rule does not grant the resource", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"*/status"}}, getNS, false},
		{"star-slash rule grants a subresource", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"*/status"}},
			Request{Verb: "get", Resource: "namespaces", Subresource: "status", Name: "team-a"}, true},
		{"exact subresource", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"namespaces/status"}},
			Request{Verb: "get", Resource: "namespaces", Subresource: "status"}, true},
		{"resource rule does not grant a subresource", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"namespaces"}},
			Request{Verb: "get", Resource: "namespaces", Subresource: "status"}, false},
		{"resource name listed", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"namespaces"}, ResourceNames: []string{"x", "team-a"}}, getNS, true},
		{"resource name not listed", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"namespaces"}, ResourceNames: []string{"team-b"}}, getNS, false},
		{"non-resource rule", rbacv1.PolicyRule{Verbs: []string{"get"}, NonResourceURLs: []string{"*"}}, getNS, false},
		{"empty rule", rbacv1.PolicyRule{}, getNS, false},
		{"accounts", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{"config.kiosk.sh"}, Resources: []string{"accounts"}},
			Request{Verb: "get", APIGroup: "config.kiosk.sh", Resource: "accounts", Name: "a"}, true},
		{"accounts of the tenancy group", rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{"tenancy.kiosk.sh"}, Resources: []string{"accounts"}},
			Request{Verb: "get", APIGroup: "config.kiosk.sh", Resource: "accounts", Name: "a"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, RuleAllows(&tt.rule, tt.req))
		})
	}
}

func TestSummarize(t *testing.T) {
	rules := []rbacv1.PolicyRule{
		{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"namespaces"}, ResourceNames: []string{"b", "a"}},
		{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"namespaces"}, ResourceNames: []string{"a", "c"}},
		{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"*/status"}},
		{Verbs: []string{"get"}, APIGroups: []string{"config.kiosk.sh"}, Resources: []string{"accounts"}},
	}
	assert.Equal(t, grant{names: []string{"a", "b", "c"}}, summarize(rules, namespacesTarget))
	assert.Equal(t, grant{all: true}, summarize(rules, accountsTarget))
	assert.True(t, summarize(nil, namespacesTarget).empty())
}

func TestSubjectKey(t *testing.T) {
	tests := []struct {
		name      string
		subject   rbacv1.Subject
		namespace string
		want      string
	}{
		{"user", rbacv1.Subject{Kind: "User", Name: "dev"}, "", "u:dev"},
		{"group", rbacv1.Subject{Kind: "Group", Name: "devs"}, "x", "g:devs"},
		{"service account", rbacv1.Subject{Kind: "ServiceAccount", Namespace: "ci", Name: "bot"}, "", "u:system:serviceaccount:ci:bot"},
		{"service account defaults to the binding namespace", rbacv1.Subject{Kind: "ServiceAccount", Name: "bot"}, "team", "u:system:serviceaccount:team:bot"},
		{"service account without any namespace matches nobody", rbacv1.Subject{Kind: "ServiceAccount", Name: "bot"}, "", ""},
		{"unknown kind", rbacv1.Subject{Kind: "Robot", Name: "bot"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, subjectKey(tt.subject, tt.namespace))
		})
	}
}

func TestIsSubject(t *testing.T) {
	subjects := []rbacv1.Subject{
		{Kind: "User", Name: "alice"},
		{Kind: "Group", Name: "team"},
		{Kind: "ServiceAccount", Namespace: "ci", Name: "bot"},
		{Kind: "ServiceAccount", Name: "orphan"},
	}
	assert.True(t, IsSubject(Subject{User: "alice"}, subjects))
	assert.True(t, IsSubject(Subject{User: "bob", Groups: []string{"x", "team"}}, subjects))
	assert.True(t, IsSubject(Subject{User: "system:serviceaccount:ci:bot"}, subjects))
	assert.False(t, IsSubject(Subject{User: "system:serviceaccount:default:orphan"}, subjects))
	assert.False(t, IsSubject(Subject{User: "team"}, subjects), "a user named like a group is not the group")
	assert.False(t, IsSubject(Subject{User: "carol", Groups: []string{"alice"}}, subjects), "a group named like a user is not the user")
}
