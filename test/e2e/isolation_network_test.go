package e2e

import (
	"context"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// isolationPolicy waits until Space ns has the isolation NetworkPolicy, and returns it.
func isolationPolicy(t *testing.T, ns string) *networkingv1.NetworkPolicy {
	t.Helper()
	var np *networkingv1.NetworkPolicy
	eventually(t, "the isolation NetworkPolicy is in "+ns, func(ctx context.Context) bool {
		var err error
		np, err = cluster.AdminClients(t).Kube.NetworkingV1().NetworkPolicies(ns).Get(ctx, "kiosk-isolation", metav1.GetOptions{})
		return err == nil
	})
	return np
}

// selected are the names of the namespaces sel selects, sorted.
func selected(t *testing.T, sel *metav1.LabelSelector) []string {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	require.NoError(t, err)
	list, err := cluster.AdminClients(t).Kube.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{LabelSelector: s.String()})
	require.NoError(t, err)
	var names []string
	for _, ns := range list.Items {
		names = append(names, ns.Name)
	}
	sort.Strings(names)
	return names
}

// assertDNSEgress checks that rule allows DNS, UDP and TCP port 53, to the cluster DNS Pods
// in kube-system, and nothing else.
func assertDNSEgress(t *testing.T, rule networkingv1.NetworkPolicyEgressRule) {
	t.Helper()
	udp, tcp, port := corev1.ProtocolUDP, corev1.ProtocolTCP, intstr.FromInt32(53)
	assert.Equal(t, []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &port}, {Protocol: &tcp, Port: &port}}, rule.Ports)
	require.Len(t, rule.To, 1)
	assert.Equal(t, &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}}, rule.To[0].PodSelector)
	assert.Equal(t, []string{"kube-system"}, selected(t, rule.To[0].NamespaceSelector), "the DNS peer is kube-system alone")
	assert.Nil(t, rule.To[0].IPBlock)
}

// Network isolation per Account: in mode Account every Space has one policy that selects
// all its Pods, allows ingress from and egress to exactly the Account's Spaces (not another
// Account's, nor any other namespace) and DNS egress; in mode Space the same within the Space
// alone; mode None has none, and switching to None removes them.
func TestIsolationNetworkPolicies(t *testing.T) {
	t.Parallel()
	byAccount, bySpace, open := framework.UniqueName("iso-net-a"), framework.UniqueName("iso-net-s"), framework.UniqueName("iso-net-n")
	userA, userS, userN := byAccount+"-me", bySpace+"-me", open+"-me"
	isolatedAccount(t, byAccount, userA, "    network:\n      mode: Account\n")
	isolatedAccount(t, bySpace, userS, "    network:\n      mode: Space\n")
	isolatedAccount(t, open, userN, "    network:\n      mode: None\n")
	a1, a2, s1, n1 := byAccount+"-1", byAccount+"-2", bySpace+"-1", open+"-1"
	cluster.As(userA).Apply(t, space(a1, byAccount)).Success(t)
	cluster.As(userA).Apply(t, space(a2, byAccount)).Success(t)
	cluster.As(userS).Apply(t, space(s1, bySpace)).Success(t)
	cluster.As(userN).Apply(t, space(n1, open)).Success(t)
	kube := cluster.AdminClients(t).Kube
	for _, ns := range []string{a1, a2, s1} {
		_, err := kube.NetworkingV1().NetworkPolicies(ns).Get(context.Background(), "kiosk-isolation", metav1.GetOptions{})
		assert.NoError(t, err, "a Space is created with its policy in place")
	}
	// An adopted namespace is a Space like the others.
	a3 := byAccount + "-adopted"
	cluster.Admin().Apply(t, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: "+a3+"\n  labels:\n    kiosk.sh/account: "+byAccount+"\n").Success(t)
	accountSpaces := []string{a1, a3, a2}
	sort.Strings(accountSpaces)

	for _, ns := range accountSpaces {
		np := isolationPolicy(t, ns)
		assert.Equal(t, map[string]string{"kiosk.sh/account": byAccount, "tenancy.kiosk.sh/protected": "true"}, np.Labels)
		assert.Equal(t, metav1.LabelSelector{}, np.Spec.PodSelector, "every Pod of the Space")
		assert.Equal(t, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress}, np.Spec.PolicyTypes)
		require.Len(t, np.Spec.Ingress, 1)
		require.Len(t, np.Spec.Ingress[0].From, 1)
		assert.Empty(t, np.Spec.Ingress[0].Ports, "all ports")
		from := np.Spec.Ingress[0].From[0]
		assert.Nil(t, from.PodSelector)
		assert.Nil(t, from.IPBlock)
		assert.Equal(t, accountSpaces, selected(t, from.NamespaceSelector), "ingress from exactly the Account's Spaces")
		require.Len(t, np.Spec.Egress, 2)
		require.Len(t, np.Spec.Egress[0].To, 1)
		assert.Empty(t, np.Spec.Egress[0].Ports)
		assert.Equal(t, np.Spec.Ingress[0].From[0], np.Spec.Egress[0].To[0], "egress to exactly the Account's Spaces")
		assertDNSEgress(t, np.Spec.Egress[1])
	}

	np := isolationPolicy(t, s1)
	require.Len(t, np.Spec.Ingress, 1)
	assert.Equal(t, []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}, np.Spec.Ingress[0].From,
		"ingress from the Pods of this Space alone")
	require.Len(t, np.Spec.Egress, 2)
	assert.Equal(t, []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}, np.Spec.Egress[0].To)
	assertDNSEgress(t, np.Spec.Egress[1])

	_, err := kube.NetworkingV1().NetworkPolicies(n1).Get(context.Background(), "kiosk-isolation", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "mode None keeps no policy: %v", err)

	cluster.Admin().Run(t, "patch", "accounts.config.kiosk.sh", byAccount, "--type=merge", "-p", `{"spec":{"isolation":{"network":{"mode":"None"}}}}`).Success(t)
	for _, ns := range accountSpaces {
		eventually(t, "the policy leaves "+ns, func(ctx context.Context) bool {
			_, err := kube.NetworkingV1().NetworkPolicies(ns).Get(ctx, "kiosk-isolation", metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		})
	}
}
