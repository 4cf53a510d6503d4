package account

import (
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/accounts"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

// ConditionSpacesBound is the Account condition that says whether every Space of the Account
// has the RoleBinding of its subjects.
const ConditionSpacesBound = "SpacesBound"

// Reasons of ConditionSpacesBound.
const (
	ReasonBound            = "Bound"
	ReasonBindingForbidden = "BindingForbidden"
	ReasonBindingFailed    = "BindingFailed"
)

// maxNamedSpaces bounds how many Spaces the condition's message names.
const maxNamedSpaces = 5

// spacesBound is the SpacesBound condition of an Account whose Spaces in unbound could not
// be bound, the first of them for reason err.
func spacesBound(account *configv1alpha1.Account, unbound []string, err error) metav1.Condition {
	c := metav1.Condition{Type: ConditionSpacesBound, ObservedGeneration: account.Generation}
	if len(unbound) == 0 {
		c.Status, c.Reason = metav1.ConditionTrue, ReasonBound
		c.Message = "every Space is bound as spec.space.clusterRole says"
		return c
	}
	c.Status, c.Reason = metav1.ConditionFalse, ReasonBindingFailed
	names := strings.Join(unbound[:min(len(unbound), maxNamedSpaces)], ", ")
	if len(unbound) > maxNamedSpaces {
		names += fmt.Sprintf(" and %d more", len(unbound)-maxNamedSpaces)
	}
	c.Message = fmt.Sprintf("%d Spaces (%s) lack the RoleBinding %s: %v", len(unbound), names, accounts.BindingName(account.Name), err)
	if apierrors.IsForbidden(err) {
		c.Reason = ReasonBindingForbidden
		c.Message = fmt.Sprintf("tenancy-apiserver may not bind ClusterRole %q (spec.space.clusterRole) in %d Spaces (%s): %v",
			accounts.ClusterRole(account), len(unbound), names, err)
	}
	// The API's limit on a condition's message.
	const maxMessage = 32768
	if len(c.Message) > maxMessage {
		c.Message = c.Message[:maxMessage]
	}
	return c
}
