package main

import (
	"crypto/x509"
	"net"
)

// Names of the files (without .crt/.key) the local control plane reads.
const (
	clusterCA         = "ca"
	frontProxyCA      = "front-proxy-ca"
	servingCA         = "serving-ca"
	frontProxyClient  = "front-proxy-client"
	kubeAPIServer     = "kube-apiserver"
	tenancyServing    = "tenancy-apiserver-serving"
	adminClient       = "admin"
	tenancyClient     = "tenancy-apiserver"
	controllerManager = "kube-controller-manager"
	webhookClient     = "accountquota-webhook-client"
	kubelet           = "kubelet"
	kubeletClient     = "kube-apiserver-kubelet-client"
	kubeScheduler     = "kube-scheduler"
	kubeProxy         = "kube-proxy"
	kubeRouter        = "kube-router"
	oidcCA            = "oidc-ca"
	oidcIssuer        = "oidc-issuer"
	etcdCA            = "etcd-ca"
	etcdPeer          = "tenancy-etcd-peer"
	etcdServer        = "tenancy-etcd-server"
	etcdClient        = "tenancy-apiserver-etcd-client"
)

// Names of the token signing keys (<name>.key, <name>.pub).
const (
	serviceAccountKey = "sa"
	oidcSigningKey    = "oidc-signing"
)

// Identities of the clients, as kube-apiserver's RBAC sees them.
const (
	// AdminUser is the admin's user name; the admin is in system:masters.
	AdminUser = "kubernetes-admin"
	// ControllerManagerUser is the user bootstrap RBAC grants kube-controller-manager's rights to.
	ControllerManagerUser = "system:kube-controller-manager"
	// FrontProxyClientName is the name kube-apiserver's --requestheader-allowed-names accepts.
	FrontProxyClientName = "front-proxy-client"
	// WebhookCallerName is the name kube-apiserver presents to the AccountQuota webhook, and
	// the only one tenancy-apiserver's --accountquota-webhook-client-name lets call it.
	WebhookCallerName = "tenancy-accountquota-webhook-caller"
	// KubeletClientName is kube-apiserver's user towards the kubelet (logs, exec); local-up
	// binds it to the bootstrap ClusterRole system:kubelet-api-admin.
	KubeletClientName = "kube-apiserver-kubelet-client"
	// KubeRouterUser is kube-router's user; local-up grants it read access for its firewall.
	KubeRouterUser = "system:kube-router"
)

var (
	serverUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	clientUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	// A member's certificates serve its listeners and are its client towards the others and
	// towards itself.
	peerUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
)

// specs lists every certificate of the local control plane, each CA before the certificates
// it signs.
func specs(o options) []certSpec {
	loopback := []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}
	svc := o.Service + "." + o.Namespace
	return append([]certSpec{
		{Name: clusterCA, IsCA: true, CommonName: "tenancy-local-cluster-ca"},
		{Name: frontProxyCA, IsCA: true, CommonName: "tenancy-local-front-proxy-ca"},
		{Name: servingCA, IsCA: true, CommonName: "tenancy-local-serving-ca"},
		{
			Name: kubeAPIServer, CA: clusterCA, CommonName: "kube-apiserver",
			DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
				"kubernetes.default.svc.cluster.local"},
			IPs:         append(append(loopback, o.ServiceIP), nodeIPs(o)...),
			ExtKeyUsage: serverUsage,
		},
		{
			// The aggregator dials localhost (the ExternalName) but checks the name
			// <service>.<namespace>.svc; tests dial 127.0.0.1 directly.
			Name: tenancyServing, CA: servingCA, CommonName: svc + ".svc",
			DNSNames:    []string{"localhost", o.Service, svc, svc + ".svc", svc + ".svc.cluster.local"},
			IPs:         loopback,
			ExtKeyUsage: serverUsage,
		},
		{Name: frontProxyClient, CA: frontProxyCA, CommonName: FrontProxyClientName, ExtKeyUsage: clientUsage},
		{
			Name: adminClient, CA: clusterCA, CommonName: AdminUser,
			Organization: []string{"system:masters"}, ExtKeyUsage: clientUsage,
		},
		{
			// The server's client certificate names its in-cluster service account, so the RBAC
			// in artifacts/ applies to it unchanged.
			Name: tenancyClient, CA: clusterCA,
			CommonName:   "system:serviceaccount:" + o.Namespace + ":" + o.Service,
			Organization: []string{"system:serviceaccounts", "system:serviceaccounts:" + o.Namespace},
			ExtKeyUsage:  clientUsage,
		},
		{Name: controllerManager, CA: clusterCA, CommonName: ControllerManagerUser, ExtKeyUsage: clientUsage},
		// kube-apiserver's identity towards the AccountQuota webhook (its admission
		// configuration's kubeconfig), so that nobody else can make the webhook charge.
		{Name: webhookClient, CA: clusterCA, CommonName: WebhookCallerName, ExtKeyUsage: clientUsage},
		// The local OIDC issuer is an identity provider outside the cluster: a CA of its own,
		// which only kube-apiserver's AuthenticationConfiguration trusts.
		{Name: oidcCA, IsCA: true, CommonName: "tenancy-local-oidc-ca"},
		{
			Name: oidcIssuer, CA: oidcCA, CommonName: "tenancy-local-oidc-issuer",
			DNSNames: []string{"localhost"}, IPs: loopback, ExtKeyUsage: serverUsage,
		},
	}, append(etcdSpecs(loopback), nodeSpecs(o)...)...)
}

// etcdSpecs lists the certificates of the tenancy etcd cluster (hack/lib/tenancy-etcd.sh with
// ETCD_MEMBERS>1), under a CA of their own so that no other client certificate of the control
// plane opens etcd: the members' peer and client listeners, all on loopback, and
// tenancy-apiserver's client certificate.
func etcdSpecs(loopback []net.IP) []certSpec {
	return []certSpec{
		{Name: etcdCA, IsCA: true, CommonName: "tenancy-local-etcd-ca"},
		{Name: etcdPeer, CA: etcdCA, CommonName: "tenancy-etcd-peer", DNSNames: []string{"localhost"}, IPs: loopback, ExtKeyUsage: peerUsage},
		// etcd's gRPC gateway dials the member's own client listener with this certificate.
		{Name: etcdServer, CA: etcdCA, CommonName: "tenancy-etcd", DNSNames: []string{"localhost"}, IPs: loopback, ExtKeyUsage: peerUsage},
		{Name: etcdClient, CA: etcdCA, CommonName: "tenancy-apiserver", ExtKeyUsage: clientUsage},
	}
}

func nodeIPs(o options) []net.IP {
	if o.NodeIP == nil {
		return nil
	}
	return []net.IP{o.NodeIP}
}

// nodeSpecs lists the certificates of the local node, none without --node-name. The kubelet's
// identity is the one the Node authorizer and NodeRestriction know; kube-scheduler's and
// kube-proxy's are those bootstrap RBAC grants their rights to.
func nodeSpecs(o options) []certSpec {
	if o.NodeName == "" {
		return nil
	}
	return []certSpec{
		{
			Name: kubelet, CA: clusterCA, CommonName: "system:node:" + o.NodeName,
			Organization: []string{"system:nodes"}, ExtKeyUsage: clientUsage,
		},
		{Name: kubeletClient, CA: clusterCA, CommonName: KubeletClientName, ExtKeyUsage: clientUsage},
		{Name: kubeScheduler, CA: clusterCA, CommonName: "system:kube-scheduler", ExtKeyUsage: clientUsage},
		{Name: kubeProxy, CA: clusterCA, CommonName: "system:kube-proxy", ExtKeyUsage: clientUsage},
		{Name: kubeRouter, CA: clusterCA, CommonName: KubeRouterUser, ExtKeyUsage: clientUsage},
	}
}
