package accounts

import (
	"fmt"
	"strings"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ServiceAccountNamespace returns the namespace whose service accounts subject names: the
// namespace of a ServiceAccount subject, of a user system:serviceaccount:<ns>:<name>, or of
// a group system:serviceaccounts:<ns>. Whoever may create service accounts there acts as
// that subject.
func ServiceAccountNamespace(subject rbacv1.Subject) (string, bool) {
	switch subject.Kind {
	case rbacv1.ServiceAccountKind:
		return subject.Namespace, true
	case rbacv1.UserKind:
		if rest, ok := strings.CutPrefix(subject.Name, "system:serviceaccount:"); ok {
			if ns, _, ok := strings.Cut(rest, ":"); ok {
				return ns, true
			}
		}
	case rbacv1.GroupKind:
		if ns, ok := strings.CutPrefix(subject.Name, "system:serviceaccounts:"); ok {
			return ns, true
		}
	}
	return "", false
}

// ServiceAccountNamespaces are the namespaces whose service accounts subjects name (see
// ServiceAccountNamespace).
func ServiceAccountNamespaces(subjects []rbacv1.Subject) []string {
	var out []string
	for _, s := range subjects {
		if ns, ok := ServiceAccountNamespace(s); ok {
			out = append(out, ns)
		}
	}
	return out
}

// ValidateServiceAccountSubjects refuses the subjects of Account account that name service
// accounts of a namespace that is a Space of another Account: the tenants of that Account
// could mint their tokens and act as subjects of this one. spaceAccount tells the Account
// a namespace is a Space of, or "" when it is no Space. Service accounts of the Account's
// own Spaces and of namespaces that are no Space are allowed; a Space taking such a
// namespace's name later is refused by the Space admission.
func ValidateServiceAccountSubjects(account string, subjects []rbacv1.Subject, path *field.Path, spaceAccount func(namespace string) string) field.ErrorList {
	var errs field.ErrorList
	for i, s := range subjects {
		ns, ok := ServiceAccountNamespace(s)
		if !ok {
			continue
		}
		if owner := spaceAccount(ns); owner != "" && owner != account {
			errs = append(errs, field.Forbidden(path.Index(i), fmt.Sprintf(
				"namespace %q is a Space of another Account; its service accounts cannot be subjects of account %q", ns, account)))
		}
	}
	return errs
}
