package accounts

import (
	"testing"

	"github.com/stretchr/testify/assert"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestServiceAccountNamespace(t *testing.T) {
	for _, tt := range []struct {
		subject rbacv1.Subject
		ns      string
	}{
		{rbacv1.Subject{Kind: rbacv1.ServiceAccountKind, Name: "deployer", Namespace: "ci"}, "ci"},
		{rbacv1.Subject{Kind: rbacv1.UserKind, Name: "system:serviceaccount:ci:deployer"}, "ci"},
		{rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "system:serviceaccounts:ci"}, "ci"},
		{rbacv1.Subject{Kind: rbacv1.UserKind, Name: "system:serviceaccount:ci"}, ""},
		{rbacv1.Subject{Kind: rbacv1.UserKind, Name: "alice"}, ""},
		{rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "system:serviceaccounts"}, ""},
		{rbacv1.Subject{Kind: rbacv1.GroupKind, Name: "system:serviceaccount:ci:deployer"}, ""},
		{rbacv1.Subject{Kind: rbacv1.UserKind, Name: "system:serviceaccounts:ci"}, ""},
	} {
		ns, ok := ServiceAccountNamespace(tt.subject)
		assert.Equal(t, tt.ns, ns, "%+v", tt.subject)
		assert.Equal(t, tt.ns != "", ok, "%+v", tt.subject)
	}
}

func TestValidateServiceAccountSubjects(t *testing.T) {
	spaces := map[string]string{"own": "a", "theirs": "b"}
	subjects := []rbacv1.Subject{
		{Kind: rbacv1.UserKind, Name: "alice"},
		{Kind: rbacv1.GroupKind, Name: "system:serviceaccounts:theirs"},
		{Kind: rbacv1.ServiceAccountKind, Name: "deployer", Namespace: "own"},
		{Kind: rbacv1.ServiceAccountKind, Name: "deployer", Namespace: "nospace"},
		{Kind: rbacv1.UserKind, Name: "system:serviceaccount:theirs:pipeline"},
		{Kind: rbacv1.UserKind, Name: "theirs"},
	}
	errs := ValidateServiceAccountSubjects("a", subjects, field.NewPath("spec", "subjects"), func(ns string) string { return spaces[ns] })
	want := `namespace "theirs" is a Space of another Account; its service accounts cannot be subjects of account "a"`
	assert.Equal(t, field.ErrorList{
		field.Forbidden(field.NewPath("spec", "subjects").Index(1), want),
		field.Forbidden(field.NewPath("spec", "subjects").Index(4), want),
	}, errs)
	assert.Empty(t, ValidateServiceAccountSubjects("b", subjects[1:2], field.NewPath("spec", "subjects"), func(ns string) string { return spaces[ns] }),
		"an Account may name the service accounts of its own Spaces")
}
