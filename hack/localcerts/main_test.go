package main

import (
	"crypto"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apiserverv1 "k8s.io/apiserver/pkg/apis/apiserver/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

func testOptions(t *testing.T) options {
	t.Helper()
	return options{
		Dir:       t.TempDir(),
		Server:    "https://127.0.0.1:26443",
		Service:   "tenancy-apiserver",
		Namespace: "tenancy-system",
		ServiceIP: net.ParseIP("10.96.0.1"),
	}
}

func load(t *testing.T, dir, name string) *keyPair {
	t.Helper()
	kp, err := loadKeyPair(dir, name)
	require.NoError(t, err)
	require.NotNil(t, kp, name)
	return kp
}

func pool(cas ...*keyPair) *x509.CertPool {
	p := x509.NewCertPool()
	for _, ca := range cas {
		p.AddCert(ca.Cert)
	}
	return p
}

func TestRunIssuesCertificatesForEachComponent(t *testing.T) {
	o := testOptions(t)
	now := time.Now()
	require.NoError(t, run(o, now))

	clusterCAPair, frontProxyCAPair, servingCAPair := load(t, o.Dir, clusterCA), load(t, o.Dir, frontProxyCA), load(t, o.Dir, servingCA)
	etcdCAPair := load(t, o.Dir, etcdCA)
	tests := []struct {
		name    string
		ca      *keyPair
		usage   x509.ExtKeyUsage
		dnsName string // verified as the server name, for serving certificates
		ip      string // must be among the IP SANs
		cn      string
		orgs    []string
	}{
		{name: kubeAPIServer, ca: clusterCAPair, usage: x509.ExtKeyUsageServerAuth, dnsName: "kubernetes.default.svc", ip: "10.96.0.1", cn: "kube-apiserver"},
		{name: kubeAPIServer, ca: clusterCAPair, usage: x509.ExtKeyUsageServerAuth, dnsName: "localhost", ip: "127.0.0.1", cn: "kube-apiserver"},
		{name: tenancyServing, ca: servingCAPair, usage: x509.ExtKeyUsageServerAuth, dnsName: "tenancy-apiserver.tenancy-system.svc", ip: "127.0.0.1", cn: "tenancy-apiserver.tenancy-system.svc"},
		{name: tenancyServing, ca: servingCAPair, usage: x509.ExtKeyUsageServerAuth, dnsName: "localhost", ip: "::1", cn: "tenancy-apiserver.tenancy-system.svc"},
		{name: frontProxyClient, ca: frontProxyCAPair, usage: x509.ExtKeyUsageClientAuth, cn: "front-proxy-client"},
		{name: adminClient, ca: clusterCAPair, usage: x509.ExtKeyUsageClientAuth, cn: "kubernetes-admin", orgs: []string{"system:masters"}},
		{name: tenancyClient, ca: clusterCAPair, usage: x509.ExtKeyUsageClientAuth,
			cn:   "system:serviceaccount:tenancy-system:tenancy-apiserver",
			orgs: []string{"system:serviceaccounts", "system:serviceaccounts:tenancy-system"}},
		{name: controllerManager, ca: clusterCAPair, usage: x509.ExtKeyUsageClientAuth, cn: "system:kube-controller-manager"},
		{name: etcdServer, ca: etcdCAPair, usage: x509.ExtKeyUsageServerAuth, dnsName: "localhost", ip: "127.0.0.1", cn: "tenancy-etcd"},
		{name: etcdPeer, ca: etcdCAPair, usage: x509.ExtKeyUsageServerAuth, dnsName: "localhost", ip: "127.0.0.1", cn: "tenancy-etcd-peer"},
		{name: etcdPeer, ca: etcdCAPair, usage: x509.ExtKeyUsageClientAuth, cn: "tenancy-etcd-peer"},
		{name: etcdClient, ca: etcdCAPair, usage: x509.ExtKeyUsageClientAuth, cn: "tenancy-apiserver"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" "+tt.dnsName, func(t *testing.T) {
			kp := load(t, o.Dir, tt.name)
			_, err := kp.Cert.Verify(x509.VerifyOptions{
				Roots: pool(tt.ca), DNSName: tt.dnsName, KeyUsages: []x509.ExtKeyUsage{tt.usage}, CurrentTime: now,
			})
			require.NoError(t, err)
			assert.Equal(t, tt.cn, kp.Cert.Subject.CommonName)
			assert.ElementsMatch(t, tt.orgs, kp.Cert.Subject.Organization)
			if tt.ip != "" {
				assert.True(t, containsIP(kp.Cert.IPAddresses, net.ParseIP(tt.ip)), "IP %s in %v", tt.ip, kp.Cert.IPAddresses)
			}
			// No certificate is trusted by a CA that did not sign it.
			for _, other := range []*keyPair{clusterCAPair, frontProxyCAPair, servingCAPair, etcdCAPair} {
				if other == tt.ca {
					continue
				}
				_, err := kp.Cert.Verify(x509.VerifyOptions{Roots: pool(other), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}, CurrentTime: now})
				assert.Error(t, err, "verified by %s", other.Cert.Subject.CommonName)
			}
			info, err := os.Stat(filepath.Join(o.Dir, tt.name+".key"))
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
		})
	}
}

func containsIP(ips []net.IP, ip net.IP) bool {
	for _, i := range ips {
		if i.Equal(ip) {
			return true
		}
	}
	return false
}

func TestRunWritesWorkingKubeconfigs(t *testing.T) {
	o := testOptions(t)
	o.AdminKubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, run(o, time.Now()))

	tests := []struct {
		path   string
		client string
	}{
		{o.AdminKubeconfig, adminClient},
		{filepath.Join(o.Dir, "tenancy-apiserver.kubeconfig"), tenancyClient},
		{filepath.Join(o.Dir, "kube-controller-manager.kubeconfig"), controllerManager},
	}
	for _, tt := range tests {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			cfg, err := clientcmd.BuildConfigFromFlags("", tt.path)
			require.NoError(t, err)
			assert.Equal(t, o.Server, cfg.Host)
			ca, err := os.ReadFile(filepath.Join(o.Dir, clusterCA+".crt"))
			require.NoError(t, err)
			assert.Equal(t, ca, cfg.CAData)
			cert, err := os.ReadFile(filepath.Join(o.Dir, tt.client+".crt"))
			require.NoError(t, err)
			assert.Equal(t, cert, cfg.CertData)
			key, err := parsePrivateKey(cfg.KeyData)
			require.NoError(t, err)
			assert.True(t, publicKeysEqual(load(t, o.Dir, tt.client).Cert.PublicKey, key.Public()))
			info, err := os.Stat(tt.path)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), info.Mode().Perm())
		})
	}
}

func TestSigningKeyPairs(t *testing.T) {
	o := testOptions(t)
	require.NoError(t, run(o, time.Now()))
	keys := map[string]crypto.Signer{}
	for _, name := range []string{serviceAccountKey, oidcSigningKey} {
		keyData, err := os.ReadFile(filepath.Join(o.Dir, name+".key"))
		require.NoError(t, err)
		key, err := parsePrivateKey(keyData)
		require.NoError(t, err)
		pubData, err := os.ReadFile(filepath.Join(o.Dir, name+".pub"))
		require.NoError(t, err)
		want, err := publicKeyPEM(key.Public())
		require.NoError(t, err)
		assert.Equal(t, want, pubData, name)
		keys[name] = key
	}
	assert.False(t, publicKeysEqual(keys[serviceAccountKey].Public(), keys[oidcSigningKey].Public()),
		"the OIDC issuer must not sign with the service-account key")
}

// snapshot reads every file of dir.
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		files[e.Name()] = data
	}
	return files
}

func TestRerunKeepsOrReplacesFiles(t *testing.T) {
	all := []string{clusterCA, frontProxyCA, servingCA, kubeAPIServer, tenancyServing, frontProxyClient,
		adminClient, tenancyClient, controllerManager}
	leaves := []string{kubeAPIServer, tenancyServing, frontProxyClient, adminClient, tenancyClient, controllerManager}
	tests := []struct {
		name string
		// change alters the options or the files before the second run, and returns its time.
		change      func(t *testing.T, o *options, now time.Time) time.Time
		wantChanged []string
	}{
		{
			name:   "nothing changed",
			change: func(_ *testing.T, _ *options, now time.Time) time.Time { return now },
		},
		{
			name: "other namespace",
			change: func(_ *testing.T, o *options, now time.Time) time.Time {
				o.Namespace = "tenancy"
				return now
			},
			// The serving certificate gets the new name, the client certificate the new identity.
			wantChanged: []string{tenancyServing, tenancyClient},
		},
		{
			name: "other service IP",
			change: func(_ *testing.T, o *options, now time.Time) time.Time {
				o.ServiceIP = net.ParseIP("10.0.0.1")
				return now
			},
			wantChanged: []string{kubeAPIServer},
		},
		{
			name: "leaves about to expire",
			change: func(_ *testing.T, _ *options, now time.Time) time.Time {
				return now.Add(leafValidity - renewBefore + time.Hour)
			},
			wantChanged: leaves,
		},
		{
			name: "corrupt key",
			change: func(t *testing.T, o *options, now time.Time) time.Time {
				require.NoError(t, os.WriteFile(filepath.Join(o.Dir, adminClient+".key"), []byte("garbage"), 0o600))
				return now
			},
			wantChanged: []string{adminClient},
		},
		{
			name: "key of another pair",
			change: func(t *testing.T, o *options, now time.Time) time.Time {
				other, err := os.ReadFile(filepath.Join(o.Dir, tenancyClient+".key"))
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(o.Dir, adminClient+".key"), other, 0o600))
				return now
			},
			wantChanged: []string{adminClient},
		},
		{
			name: "new cluster CA",
			change: func(t *testing.T, o *options, now time.Time) time.Time {
				require.NoError(t, os.Remove(filepath.Join(o.Dir, clusterCA+".crt")))
				return now
			},
			// Everything the old CA signed is re-issued by the new one.
			wantChanged: []string{clusterCA, kubeAPIServer, adminClient, tenancyClient, controllerManager},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := testOptions(t)
			now := time.Now()
			require.NoError(t, run(o, now))
			before := snapshot(t, o.Dir)
			later := tt.change(t, &o, now)
			require.NoError(t, run(o, later))
			after := snapshot(t, o.Dir)
			var changed []string
			for _, name := range all {
				if string(before[name+".crt"]) != string(after[name+".crt"]) {
					changed = append(changed, name)
				}
			}
			assert.ElementsMatch(t, tt.wantChanged, changed)
			assert.Equal(t, before["sa.key"], after["sa.key"], "the service-account key must survive")
			for _, name := range tt.wantChanged {
				spec := specFor(t, o, name)
				var ca *keyPair
				if spec.CA != "" {
					ca = load(t, o.Dir, spec.CA)
				}
				assert.True(t, matches(load(t, o.Dir, name), spec, ca, later), name)
			}
		})
	}
}

func specFor(t *testing.T, o options, name string) certSpec {
	t.Helper()
	for _, s := range specs(o) {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no spec %s", name)
	return certSpec{}
}

func TestRunRejectsIncompleteOptions(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*options)
	}{
		{"no dir", func(o *options) { o.Dir = "" }},
		{"no server", func(o *options) { o.Server = "" }},
		{"no service", func(o *options) { o.Service = "" }},
		{"no namespace", func(o *options) { o.Namespace = "" }},
		{"no service IP", func(o *options) { o.ServiceIP = nil }},
		{"node IP without node name", func(o *options) { o.NodeIP = net.ParseIP("192.0.2.1") }},
		{"authentication config without issuer", func(o *options) { o.AuthenticationConfig = "authn.yaml" }},
		{"authentication config with an http issuer", func(o *options) {
			o.AuthenticationConfig, o.OIDCIssuerURL, o.OIDCAudience = "authn.yaml", "http://127.0.0.1:24443", "tenancy-local"
		}},
		{"authentication config without audience", func(o *options) {
			o.AuthenticationConfig, o.OIDCIssuerURL = "authn.yaml", "https://127.0.0.1:24443"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := testOptions(t)
			tt.modify(&o)
			assert.Error(t, run(o, time.Now()))
		})
	}
}

// The admission configuration makes kube-apiserver call webhooks with the certificate of
// WebhookCallerName, through webhook.kubeconfig beside it.
func TestRunWritesTheAdmissionConfig(t *testing.T) {
	o := testOptions(t)
	o.AdmissionConfig = filepath.Join(t.TempDir(), "admission.yaml")
	require.NoError(t, run(o, time.Now()))

	data, err := os.ReadFile(o.AdmissionConfig)
	require.NoError(t, err)
	var cfg struct {
		Kind    string `json:"kind"`
		Plugins []struct {
			Name          string `json:"name"`
			Configuration struct {
				KubeConfigFile string `json:"kubeConfigFile"`
			} `json:"configuration"`
		} `json:"plugins"`
	}
	require.NoError(t, yaml.Unmarshal(data, &cfg))
	assert.Equal(t, "AdmissionConfiguration", cfg.Kind)
	require.Len(t, cfg.Plugins, 2)
	assert.Equal(t, "MutatingAdmissionWebhook", cfg.Plugins[0].Name)
	assert.Equal(t, "ValidatingAdmissionWebhook", cfg.Plugins[1].Name)
	webhook := cfg.Plugins[0].Configuration.KubeConfigFile
	assert.Equal(t, filepath.Join(filepath.Dir(o.AdmissionConfig), "webhook.kubeconfig"), webhook)
	assert.Equal(t, webhook, cfg.Plugins[1].Configuration.KubeConfigFile)

	kc, err := clientcmd.LoadFromFile(webhook)
	require.NoError(t, err)
	user := kc.AuthInfos["*"]
	require.NotNil(t, user, "credentials for every webhook")
	assert.Equal(t, WebhookCallerName, load(t, o.Dir, webhookClient).Cert.Subject.CommonName)
	assert.Equal(t, filepath.Join(o.Dir, webhookClient+".crt"), user.ClientCertificate)
	assert.Equal(t, filepath.Join(o.Dir, webhookClient+".key"), user.ClientKey)
}

// With --node-name, the node's components get client certificates with the identities the
// Node authorizer and bootstrap RBAC know, and kubeconfigs; kube-apiserver's certificate names
// the node's address, where Pods reach it.
func TestRunIssuesTheNodeIdentities(t *testing.T) {
	o := testOptions(t)
	require.NoError(t, run(o, time.Now()))
	_, err := os.Stat(filepath.Join(o.Dir, "kubelet.kubeconfig"))
	assert.True(t, os.IsNotExist(err), "no node, no kubelet kubeconfig")

	o.NodeName, o.NodeIP = "local-node", net.ParseIP("192.0.2.1")
	require.NoError(t, run(o, time.Now()))
	ca := load(t, o.Dir, clusterCA)
	for name, want := range map[string][2]string{
		kubelet:       {"system:node:local-node", "system:nodes"},
		kubeletClient: {KubeletClientName, ""},
		kubeScheduler: {"system:kube-scheduler", ""},
		kubeProxy:     {"system:kube-proxy", ""},
		kubeRouter:    {KubeRouterUser, ""},
	} {
		kp := load(t, o.Dir, name)
		assert.Equal(t, want[0], kp.Cert.Subject.CommonName, name)
		if want[1] != "" {
			assert.Equal(t, []string{want[1]}, kp.Cert.Subject.Organization, name)
		}
		_, err := kp.Cert.Verify(x509.VerifyOptions{Roots: pool(ca), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
		assert.NoError(t, err, name)
		if name == kubeletClient {
			continue
		}
		cfg, err := clientcmd.LoadFromFile(filepath.Join(o.Dir, name+".kubeconfig"))
		require.NoError(t, err, name)
		assert.Equal(t, o.Server, cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster].Server, name)
	}
	assert.True(t, containsIP(load(t, o.Dir, kubeAPIServer).Cert.IPAddresses, o.NodeIP), "kube-apiserver's certificate lacks the node IP")
}

// The AuthenticationConfiguration trusts the local issuer only through the issuer's own CA,
// for the one audience, with the prefixed claim mappings; its serving certificate is for
// loopback and signed by that CA, which signs nothing else.
func TestRunWritesTheAuthenticationConfig(t *testing.T) {
	o := testOptions(t)
	o.AuthenticationConfig = filepath.Join(t.TempDir(), "authentication.yaml")
	o.OIDCIssuerURL, o.OIDCAudience = "https://127.0.0.1:24443", "tenancy-local"
	now := time.Now()
	require.NoError(t, run(o, now))

	data, err := os.ReadFile(o.AuthenticationConfig)
	require.NoError(t, err)
	var cfg apiserverv1.AuthenticationConfiguration
	require.NoError(t, yaml.UnmarshalStrict(data, &cfg))
	assert.Equal(t, "apiserver.config.k8s.io/v1", cfg.APIVersion)
	assert.Equal(t, "AuthenticationConfiguration", cfg.Kind)
	require.Len(t, cfg.JWT, 1)
	jwt := cfg.JWT[0]
	assert.Equal(t, o.OIDCIssuerURL, jwt.Issuer.URL)
	assert.Equal(t, []string{"tenancy-local"}, jwt.Issuer.Audiences)
	assert.Equal(t, "sub", jwt.ClaimMappings.Username.Claim)
	assert.Equal(t, "groups", jwt.ClaimMappings.Groups.Claim)
	require.NotNil(t, jwt.ClaimMappings.Username.Prefix)
	require.NotNil(t, jwt.ClaimMappings.Groups.Prefix)
	assert.Equal(t, "oidc:", *jwt.ClaimMappings.Username.Prefix)
	assert.Equal(t, "oidc:", *jwt.ClaimMappings.Groups.Prefix)

	trusted := x509.NewCertPool()
	require.True(t, trusted.AppendCertsFromPEM([]byte(jwt.Issuer.CertificateAuthority)))
	issuer := load(t, o.Dir, oidcIssuer)
	for _, name := range []string{"127.0.0.1", "localhost"} {
		_, err := issuer.Cert.Verify(x509.VerifyOptions{Roots: trusted, DNSName: name,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, CurrentTime: now})
		assert.NoError(t, err, "the issuer's certificate for %s", name)
	}
	for _, other := range []string{kubeAPIServer, tenancyServing} {
		_, err := load(t, o.Dir, other).Cert.Verify(x509.VerifyOptions{Roots: trusted, CurrentTime: now})
		assert.Error(t, err, "the OIDC CA must not vouch for %s", other)
	}
}
