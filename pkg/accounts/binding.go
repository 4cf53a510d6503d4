// Package accounts holds what an Account requires of each of its Spaces, for whoever makes
// or keeps a Space: the RoleBinding of its subjects, its mandatory TemplateInstances and the
// wait until they are deployed, and the reading of Accounts as v1alpha1. The Space storage
// (pkg/registry/tenancy/space), the Space admission plugins and the Account controller all
// decide through it.
package accounts

import (
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

// BindingName is the name of the RoleBinding that gives an Account's subjects their
// ClusterRole in each of its Spaces.
func BindingName(account string) string { return "kiosk-account-" + account }

// ClusterRole is the ClusterRole an Account binds its subjects to in its Spaces.
func ClusterRole(account *configv1alpha1.Account) string {
	if account.Spec.Space.ClusterRole != nil {
		return *account.Spec.Space.ClusterRole
	}
	return "admin"
}

// DesiredBinding is the RoleBinding an Account wants in one of its Spaces, or nil for none.
func DesiredBinding(account *configv1alpha1.Account, namespace string) *rbacv1.RoleBinding {
	role := ClusterRole(account)
	if role == "" || len(account.Spec.Subjects) == 0 {
		return nil
	}
	return &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{
			Name:      BindingName(account.Name),
			Namespace: namespace,
			Labels:    PlacedLabels(account.Name),
		},
		Subjects: append([]rbacv1.Subject(nil), account.Spec.Subjects...),
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
	}
}
