package account

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/component-base/metrics/testutil"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/accounts"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/controller/controllertest"
)

// policy reads the isolation NetworkPolicy of namespace, nil when there is none.
func (r *running) policy(t require.TestingT, namespace string) *networkingv1.NetworkPolicy {
	np, err := r.Kube.NetworkingV1().NetworkPolicies(namespace).Get(r.Ctx, accounts.NetworkPolicyName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	require.NoError(t, err)
	return np
}

// The Account's isolation is kept on every Space: the Pod Security labels on the namespace,
// the NetworkPolicy in it, set back when changed or deleted, and removed with the setting.
func TestRunKeepsIsolation(t *testing.T) {
	account := acme()
	account.Spec.Isolation.PodSecurity = &configv1alpha1.AccountPodSecurity{Enforce: configv1alpha1.PodSecurityRestricted}
	account.Spec.Isolation.Network.Mode = configv1alpha1.NetworkIsolationAccount
	r := newRunning(t, nil, account, namespaceOf("s1", true), namespaceOf("other", false))
	created := writes(t, "networkpolicy", "create")
	r.run(t)

	want := accounts.DesiredNetworkPolicy(account, "s1")
	controllertest.Eventually(t, func(c *assert.CollectT) {
		np := r.policy(c, "s1")
		require.NotNil(c, np)
		assert.Equal(c, want.Spec, np.Spec)
		assert.Equal(c, want.Labels, np.Labels)
		ns, err := r.Kube.CoreV1().Namespaces().Get(r.Ctx, "s1", metav1.GetOptions{})
		require.NoError(c, err)
		assert.Equal(c, "restricted", ns.Labels["pod-security.kubernetes.io/enforce"])
		assert.NotNil(c, r.binding(c, "s1"), "the Account's users are bound once the Space is isolated")
	})
	assert.Nil(t, r.policy(t, "other"), "a namespace of no Account gets no policy")

	// Changed, then deleted: set back each time.
	np := r.policy(t, "s1")
	np.Spec.Ingress = nil
	_, err := r.Kube.NetworkingV1().NetworkPolicies("s1").Update(r.Ctx, np, metav1.UpdateOptions{})
	require.NoError(t, err)
	controllertest.Eventually(t, func(c *assert.CollectT) {
		np := r.policy(c, "s1")
		require.NotNil(c, np)
		assert.Equal(c, want.Spec, np.Spec)
	})
	require.NoError(t, r.Kube.NetworkingV1().NetworkPolicies("s1").Delete(r.Ctx, accounts.NetworkPolicyName, metav1.DeleteOptions{}))
	// The metric counts a write once it has returned, a moment after the policy exists.
	controllertest.Eventually(t, func(c *assert.CollectT) {
		assert.NotNil(c, r.policy(c, "s1"))
		assert.Equal(c, created+2, writes(c, "networkpolicy", "create"), "created, then created again")
	})

	r.update(t, func(a *configv1alpha1.Account) {
		a.Spec.Isolation.Network.Mode = configv1alpha1.NetworkIsolationNone
		a.Spec.Isolation.PodSecurity = nil
	})
	controllertest.Eventually(t, func(c *assert.CollectT) {
		assert.Nil(c, r.policy(c, "s1"))
		ns, err := r.Kube.CoreV1().Namespaces().Get(r.Ctx, "s1", metav1.GetOptions{})
		require.NoError(c, err)
		assert.Equal(c, map[string]string{configv1alpha1.AccountLabel: "acme"}, ns.Labels)
	})
}

// writes is the isolation_writes_total count of object and operation.
func writes(t require.TestingT, object, operation string) float64 {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
	v, err := testutil.GetCounterMetricValue(isolationWrites.WithLabelValues(object, operation))
	require.NoError(t, err)
	return v
}
