package access

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// rv hands out increasing resourceVersions, as kube-apiserver would.
type rv struct{ n uint64 }

func (r *rv) next() string { r.n++; return strconv.FormatUint(r.n, 10) }

func namespace(name, rv string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: rv,
		Labels: map[string]string{"kiosk.sh/account": "a"}}}
}

func getRule(resource string, names ...string) rbacv1.PolicyRule {
	group := ""
	if resource == "accounts" {
		group = "config.kiosk.sh"
	}
	return rbacv1.PolicyRule{Verbs: []string{"get"}, APIGroups: []string{group}, Resources: []string{resource}, ResourceNames: names}
}

func clusterRole(name, rv string, rules ...rbacv1.PolicyRule) *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: rv}, Rules: rules}
}

func role(ns, name, rv string, rules ...rbacv1.PolicyRule) *rbacv1.Role {
	return &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: rv}, Rules: rules}
}

func user(name string) rbacv1.Subject  { return rbacv1.Subject{Kind: "User", Name: name} }
func group(name string) rbacv1.Subject { return rbacv1.Subject{Kind: "Group", Name: name} }
func serviceAccount(ns, name string) rbacv1.Subject {
	return rbacv1.Subject{Kind: "ServiceAccount", Namespace: ns, Name: name}
}

func roleBinding(ns, name, rv, kind, roleName string, subjects ...rbacv1.Subject) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: rv},
		RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: kind, Name: roleName}, Subjects: subjects}
}

func clusterRoleBinding(name, rv, roleName string, subjects ...rbacv1.Subject) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: rv},
		RoleRef: rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: roleName}, Subjects: subjects}
}

type accountObject struct {
	metav1.TypeMeta
	metav1.ObjectMeta
}

func (a *accountObject) DeepCopyObject() runtime.Object { c := *a; return &c }

func account(name string) runtime.Object {
	return &accountObject{ObjectMeta: metav1.ObjectMeta{Name: name}}
}
