package accounts

import (
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

// Before the index is ready, an Account's Spaces are unknown, not none: counting none would
// let a Space limit pass and drop the reservations of Spaces that exist.
func TestSpacesOfWaitsForTheIndex(t *testing.T) {
	x := access.New(access.Options{Load: true})
	for _, ns := range []struct{ name, account string }{{"a-1", "a"}, {"a-2", "a"}, {"b-1", "b"}} {
		x.UpsertSpace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns.name, ResourceVersion: "1",
			Labels: map[string]string{configv1alpha1.AccountLabel: ns.account}}})
	}
	_, err := SpacesOf(x, "a")
	require.True(t, apierrors.IsServiceUnavailable(err), "before the index is ready: %v", err)

	x.MarkReady()
	names, err := SpacesOf(x, "a")
	require.NoError(t, err)
	require.ElementsMatch(t, []string{"a-1", "a-2"}, names)
}
