package access

import (
	"testing"

	"github.com/stretchr/testify/assert"
	rbacv1 "k8s.io/api/rbac/v1"
)

func TestSpaceVisibility(t *testing.T) {
	var r rv
	x := New(Options{})
	for _, ns := range []string{"a", "b", "c", "ci"} {
		x.UpsertSpace(namespace(ns, r.next()))
	}
	x.UpsertClusterRole(clusterRole("viewer", r.next(), getRule("namespaces")))
	x.UpsertClusterRole(clusterRole("status-only", r.next(), rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"namespaces/status"}}))
	x.UpsertClusterRole(clusterRole("b-only", r.next(), getRule("namespaces", "b")))
	x.UpsertRoleBinding(roleBinding("a", "alice", r.next(), "ClusterRole", "viewer", user("alice")))
	x.UpsertRoleBinding(roleBinding("a", "team", r.next(), "ClusterRole", "viewer", group("team")))
	x.UpsertRoleBinding(roleBinding("c", "status", r.next(), "ClusterRole", "status-only", user("alice")))
	x.UpsertRoleBinding(roleBinding("c", "b-only-in-c", r.next(), "ClusterRole", "b-only", user("carol")))
	x.UpsertClusterRoleBinding(clusterRoleBinding("carol-b", r.next(), "b-only", user("carol")))
	x.UpsertRoleBinding(roleBinding("ci", "local-sa", r.next(), "ClusterRole", "viewer", rbacv1.Subject{Kind: "ServiceAccount", Name: "bot"}))
	x.UpsertRoleBinding(roleBinding("b", "all-sas-of-ci", r.next(), "ClusterRole", "viewer", group("system:serviceaccounts:ci")))
	x.UpsertRole(role("c", "local", r.next(), getRule("namespaces")))
	x.UpsertRoleBinding(roleBinding("c", "dave", r.next(), "Role", "local", user("dave")))
	x.UpsertRoleBinding(roleBinding("a", "dave-missing-role", r.next(), "Role", "nope", user("dave")))
	x.UpsertRoleBinding(roleBinding("b", "dave-role-of-other-ns", r.next(), "Role", "local", user("dave")))

	tests := []struct {
		name    string
		subject Subject
		want    []string
	}{
		{"user binding", Subject{User: "alice"}, []string{"a"}},
		{"group binding", Subject{User: "bob", Groups: []string{"team", "system:authenticated"}}, []string{"a"}},
		{"resourceNames, in any namespace's binding only for that namespace", Subject{User: "carol"}, []string{"b"}},
		{"service account defaulted to the binding namespace", Subject{User: "system:serviceaccount:ci:bot"}, []string{"ci"}},
		{"service account group", Subject{User: "system:serviceaccount:ci:other", Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ci"}}, []string{"b"}},
		{"role in its own namespace only; missing role grants nothing", Subject{User: "dave"}, []string{"c"}},
		{"nobody", Subject{User: "eve", Groups: []string{"system:authenticated"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := x.Spaces().Snapshot()
			assert.Equal(t, tt.want, snap.Names(tt.subject, false))
			for _, ns := range []string{"a", "b", "c", "ci", "missing"} {
				assert.Equal(t, contains(tt.want, ns), snap.Visible(tt.subject, ns), ns)
			}
		})
	}

	dave := Subject{User: "dave"}
	x.UpsertRole(role("a", "nope", r.next(), getRule("namespaces")))
	assert.Equal(t, []string{"a", "c"}, x.Spaces().Snapshot().Names(dave, false), "a role that appears later starts granting")
	x.DeleteRole("c", "local", r.next())
	assert.Equal(t, []string{"a"}, x.Spaces().Snapshot().Names(dave, false), "a deleted role revokes at once")
	x.DeleteRoleBinding("a", "dave-missing-role", r.next())
	assert.Empty(t, x.Spaces().Snapshot().Names(dave, false), "a deleted binding revokes at once")

	alice := Subject{User: "alice"}
	x.UpsertClusterRole(clusterRole("status-only", r.next(), getRule("*")))
	assert.Equal(t, []string{"a", "c"}, x.Spaces().Snapshot().Names(alice, false), "changed ClusterRole rules apply to its RoleBindings")
	x.UpsertClusterRoleBinding(clusterRoleBinding("alice-all", r.next(), "viewer", user("alice")))
	assert.Equal(t, []string{"a", "b", "c", "ci"}, x.Spaces().Snapshot().Names(alice, false))
	assert.True(t, x.Spaces().Snapshot().SeesEverything(alice))
	x.UpsertClusterRole(clusterRole("viewer", r.next(), getRule("namespaces", "ci")))
	assert.Equal(t, []string{"c", "ci"}, x.Spaces().Snapshot().Names(alice, false), "narrowed ClusterRole narrows its bindings")
	x.DeleteClusterRole("viewer", r.next())
	assert.Equal(t, []string{"c"}, x.Spaces().Snapshot().Names(alice, false))
	x.DeleteSpace("c", r.next())
	assert.Empty(t, x.Spaces().Snapshot().Names(alice, false), "a deleted namespace is gone")
	assert.Equal(t, []string{"a", "b", "ci"}, x.Spaces().Snapshot().Names(alice, true), "everything shows all Spaces")
}

func TestAccountVisibility(t *testing.T) {
	var r rv
	x := New(Options{})
	x.UpsertAccount("red", account("red"), []rbacv1.Subject{user("alice"), serviceAccount("ci", "bot")}, "1")
	x.UpsertAccount("blue", account("blue"), []rbacv1.Subject{group("blue-team"), {Kind: "ServiceAccount", Name: "no-namespace"}}, "2")
	x.UpsertClusterRole(clusterRole("account-viewer", r.next(), getRule("accounts")))
	x.UpsertClusterRole(clusterRole("blue-viewer", r.next(), getRule("accounts", "blue")))
	x.UpsertClusterRoleBinding(clusterRoleBinding("auditor", r.next(), "account-viewer", user("auditor")))
	x.UpsertClusterRoleBinding(clusterRoleBinding("carol-blue", r.next(), "blue-viewer", user("carol")))
	// A RoleBinding never grants a cluster-scoped Account.
	x.UpsertRoleBinding(roleBinding("red", "dave", r.next(), "ClusterRole", "account-viewer", user("dave")))

	tests := []struct {
		name    string
		subject Subject
		want    []string
	}{
		{"user subject", Subject{User: "alice"}, []string{"red"}},
		{"service account subject", Subject{User: "system:serviceaccount:ci:bot"}, []string{"red"}},
		{"group subject", Subject{User: "bob", Groups: []string{"blue-team"}}, []string{"blue"}},
		{"service account subject without namespace matches nobody", Subject{User: "system:serviceaccount:default:no-namespace"}, nil},
		{"RBAC on all accounts", Subject{User: "auditor"}, []string{"blue", "red"}},
		{"RBAC on one account", Subject{User: "carol"}, []string{"blue"}},
		{"RoleBinding grants no account", Subject{User: "dave"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, x.Accounts().Snapshot().Names(tt.subject, false))
		})
	}
	x.UpsertAccount("red", account("red"), []rbacv1.Subject{user("bob")}, "3")
	assert.Empty(t, x.Accounts().Snapshot().Names(Subject{User: "alice"}, false), "removed subject loses the account")
	assert.Equal(t, []string{"red"}, x.Accounts().Snapshot().Names(Subject{User: "bob"}, false))
	x.DeleteAccount("red", "4")
	assert.Empty(t, x.Accounts().Snapshot().Names(Subject{User: "bob"}, false))
	assert.Equal(t, uint64(6), x.Accounts().Snapshot().Revision(), "account revisions follow their resourceVersions, RBAC changes count on")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
