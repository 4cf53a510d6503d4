package account

import (
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

func TestSpacesBound(t *testing.T) {
	role := "cluster-admin"
	account := &configv1alpha1.Account{ObjectMeta: metav1.ObjectMeta{Name: "a", Generation: 3}}
	withRole := account.DeepCopy()
	withRole.Spec.Space.ClusterRole = &role
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "rbac.authorization.k8s.io", Resource: "rolebindings"},
		"kiosk-account-a", errors.New("attempting to grant RBAC permissions not currently held"))
	many := []string{"s1", "s2", "s3", "s4", "s5", "s6", "s7"}
	tests := []struct {
		name         string
		account      *configv1alpha1.Account
		unbound      []string
		err          error
		status       metav1.ConditionStatus
		reason       string
		contains     []string
		doesNotMatch string
	}{
		{name: "all bound", account: account, status: metav1.ConditionTrue, reason: ReasonBound},
		{name: "role refused", account: withRole, unbound: []string{"s1"}, err: forbidden,
			status: metav1.ConditionFalse, reason: ReasonBindingForbidden,
			contains: []string{`may not bind ClusterRole "cluster-admin" (spec.space.clusterRole) in 1 Spaces (s1)`, "not currently held"}},
		{name: "default role refused", account: account, unbound: []string{"s1"}, err: forbidden,
			status: metav1.ConditionFalse, reason: ReasonBindingForbidden, contains: []string{`ClusterRole "admin"`}},
		{name: "other failure", account: account, unbound: []string{"s1", "s2"}, err: errors.New("boom"),
			status: metav1.ConditionFalse, reason: ReasonBindingFailed,
			contains: []string{"2 Spaces (s1, s2) lack the RoleBinding kiosk-account-a: boom"}},
		{name: "many Spaces", account: account, unbound: many, err: errors.New("boom"),
			status: metav1.ConditionFalse, reason: ReasonBindingFailed,
			contains: []string{"7 Spaces (s1, s2, s3, s4, s5 and 2 more)"}, doesNotMatch: "s6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := spacesBound(tt.account, tt.unbound, tt.err)
			if c.Type != ConditionSpacesBound || c.Status != tt.status || c.Reason != tt.reason || c.ObservedGeneration != 3 {
				t.Fatalf("got %+v, want status %s reason %s generation 3", c, tt.status, tt.reason)
			}
			for _, want := range tt.contains {
				if !strings.Contains(c.Message, want) {
					t.Errorf("message %q does not contain %q", c.Message, want)
				}
			}
			if tt.doesNotMatch != "" && strings.Contains(c.Message, tt.doesNotMatch) {
				t.Errorf("message %q names %q", c.Message, tt.doesNotMatch)
			}
		})
	}
}
