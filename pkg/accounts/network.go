package accounts

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

// NetworkPolicyName is the name of the NetworkPolicy that spec.isolation.network puts in
// every Space of an Account.
const NetworkPolicyName = "kiosk-isolation"

// DesiredNetworkPolicy is the NetworkPolicy an Account's spec.isolation.network wants in one
// of its Spaces, or nil for none (mode None, or unset). It selects every Pod of the Space and
// allows ingress only from, and egress only to, the Pods of the Account's Spaces (mode
// Account: namespaces labelled kiosk.sh/account=<account>, a label only admins and the
// server set) or of the Space itself (mode Space), plus DNS egress to the cluster DNS
// (kube-system Pods labelled k8s-app=kube-dns, UDP and TCP port 53). All other traffic of
// the Space's Pods is denied.
func DesiredNetworkPolicy(account *configv1alpha1.Account, namespace string) *networkingv1.NetworkPolicy {
	var peer networkingv1.NetworkPolicyPeer
	switch account.Spec.Isolation.Network.Mode {
	case configv1alpha1.NetworkIsolationAccount:
		peer.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{configv1alpha1.AccountLabel: account.Name}}
	case configv1alpha1.NetworkIsolationSpace:
		peer.PodSelector = &metav1.LabelSelector{}
	default:
		return nil
	}
	udp, tcp, dns := corev1.ProtocolUDP, corev1.ProtocolTCP, intstr.FromInt32(53)
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{
			Name:      NetworkPolicyName,
			Namespace: namespace,
			Labels:    PlacedLabels(account.Name),
		},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{peer}}},
			Egress: []networkingv1.NetworkPolicyEgressRule{
				{To: []networkingv1.NetworkPolicyPeer{*peer.DeepCopy()}},
				{
					To: []networkingv1.NetworkPolicyPeer{{
						NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: metav1.NamespaceSystem}},
						PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}},
					}},
					Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &dns}, {Protocol: &tcp, Port: &dns}},
				},
			},
		},
	}
}

// PlacedLabels are the labels of what the server places in a Space of account: its
// kiosk.sh/account label, and ProtectedLabel, which keeps tenants from changing or deleting
// it.
func PlacedLabels(account string) map[string]string {
	return map[string]string{configv1alpha1.AccountLabel: account, configv1alpha1.ProtectedLabel: "true"}
}
