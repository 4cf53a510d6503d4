package chart

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// etcdTLSFlags are the flags of every bundled etcd member: TLS for clients and peers, both
// asked for a client certificate, from the Secret mounted at /var/run/etcd/tls.
var etcdTLSFlags = map[string]string{
	"--cert-file": "/var/run/etcd/tls/tls.crt", "--key-file": "/var/run/etcd/tls/tls.key",
	"--trusted-ca-file": "/var/run/etcd/tls/ca.crt", "--client-cert-auth": "true",
	"--peer-cert-file": "/var/run/etcd/tls/tls.crt", "--peer-key-file": "/var/run/etcd/tls/tls.key",
	"--peer-trusted-ca-file": "/var/run/etcd/tls/ca.crt", "--peer-client-cert-auth": "true",
}

// bundledTLS renders the chart in bundled mode with args, checks that the members serve and
// ask for certificates from memberSecret and that the server connects over https with the
// client certificate of clientSecret, and returns the objects.
func bundledTLS(t *testing.T, memberSecret, clientSecret string, args ...string) []*unstructured.Unstructured {
	t.Helper()
	objs := Objects(t, Template(t, release, namespace, append([]string{"--values", filepath.Join(Dir(), "ci", "bundled-values.yaml")}, args...)...))
	etcd := findStatefulSet(objs, release+"-etcd")
	require.NotNil(t, etcd)
	member := etcd.Spec.Template.Spec
	c := member.Containers[0]
	for flag, want := range etcdTLSFlags {
		assert.Equal(t, want, argValue(t, c.Args, flag), flag)
	}
	domain := fmt.Sprintf("%[1]s-etcd.%[2]s.svc", release, namespace)
	assert.Equal(t, "https://0.0.0.0:2379", argValue(t, c.Args, "--listen-client-urls"))
	assert.Equal(t, "https://0.0.0.0:2380", argValue(t, c.Args, "--listen-peer-urls"))
	assert.Equal(t, "https://$(POD_NAME)."+domain+":2379", argValue(t, c.Args, "--advertise-client-urls"))
	assert.Equal(t, "https://$(POD_NAME)."+domain+":2380", argValue(t, c.Args, "--initial-advertise-peer-urls"))
	assert.Contains(t, c.VolumeMounts, corev1.VolumeMount{Name: "tls", MountPath: "/var/run/etcd/tls", ReadOnly: true})
	assert.Equal(t, memberSecret, volume(t, member, "tls").Secret.SecretName)

	deploy := &appsv1.Deployment{}
	decodeInto(t, Find(t, objs, "Deployment", release), deploy)
	server := deploy.Spec.Template.Spec
	for flag, key := range map[string]string{"--etcd-cafile": "ca.crt", "--etcd-certfile": "tls.crt", "--etcd-keyfile": "tls.key"} {
		assert.Equal(t, "/var/run/tenancy-apiserver/etcd-client/"+key, argValue(t, server.Containers[0].Args, flag))
	}
	assert.Equal(t, clientSecret, volume(t, server, "etcd-client").Secret.SecretName)
	return objs
}

// storage.bundled.tls.mode generate, the default: one CA signs the members' certificate,
// valid for every member's name for serving and for its peer connections, and the server's
// client certificate; each side's Secret carries that CA.
func TestBundledEtcdGeneratedTLS(t *testing.T) {
	objs := bundledTLS(t, release+"-etcd-tls", release+"-etcd-client-tls")
	secrets := map[string]*corev1.Secret{}
	for _, name := range []string{release + "-etcd-tls", release + "-etcd-client-tls"} {
		secrets[name] = &corev1.Secret{}
		decodeInto(t, Find(t, objs, "Secret", name), secrets[name])
		assert.Equal(t, corev1.SecretTypeTLS, secrets[name].Type, name)
	}
	member, client := secrets[release+"-etcd-tls"], secrets[release+"-etcd-client-tls"]
	require.NotEmpty(t, member.Data["ca.crt"])
	assert.Equal(t, string(member.Data["ca.crt"]), string(client.Data["ca.crt"]), "one CA for both sides")
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(member.Data["ca.crt"]))

	memberCert := leaf(t, member)
	for i := range 3 {
		name := fmt.Sprintf("%[1]s-etcd-%[2]d.%[1]s-etcd.%[3]s.svc", release, i, namespace)
		_, err := memberCert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		assert.NoError(t, err, "the server and the peers verify member %s", name)
	}
	_, err := memberCert.Verify(x509.VerifyOptions{DNSName: "127.0.0.1", Roots: roots})
	assert.NoError(t, err, "etcd's own gateway connects to its client port on 127.0.0.1")
	_, err = memberCert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	assert.NoError(t, err, "a member presents the same certificate to its peers")
	_, err = memberCert.Verify(x509.VerifyOptions{DNSName: "etcd.example.com", Roots: roots})
	assert.Error(t, err, "the certificate is for the members' names only")

	clientCert := leaf(t, client)
	assert.Equal(t, release, clientCert.Subject.CommonName)
	_, err = clientCert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	assert.NoError(t, err, "the members accept the server's client certificate")

	// Another render (another release, or helm template) makes another CA: the certificates
	// are not shared between installations.
	again := Objects(t, Template(t, release, namespace, "--values", filepath.Join(Dir(), "ci", "bundled-values.yaml")))
	other := &corev1.Secret{}
	decodeInto(t, Find(t, again, "Secret", release+"-etcd-tls"), other)
	assert.NotEqual(t, string(member.Data["ca.crt"]), string(other.Data["ca.crt"]))

	for _, obj := range objs {
		assert.NotEqual(t, "Certificate", obj.GetKind())
	}
}

// storage.bundled.tls.mode certManager: the chart's own CA (a self-signed Issuer, a CA
// Certificate and a CA Issuer) issues the members' certificate and the server's client
// certificate into the Secrets they mount; an issuer of one's own replaces that chain.
func TestBundledEtcdCertManagerTLS(t *testing.T) {
	objs := bundledTLS(t, release+"-etcd-tls", release+"-etcd-client-tls", "--set", "storage.bundled.tls.mode=certManager")
	caCert := Find(t, objs, "Certificate", release+"-etcd-ca")
	isCA, _, _ := unstructured.NestedBool(caCert.Object, "spec", "isCA")
	assert.True(t, isCA)
	caIssuer, _, _ := unstructured.NestedString(caCert.Object, "spec", "issuerRef", "name")
	selfSigned, _, _ := unstructured.NestedMap(Find(t, objs, "Issuer", caIssuer).Object, "spec", "selfSigned")
	assert.NotNil(t, selfSigned)
	caSecret, _, _ := unstructured.NestedString(caCert.Object, "spec", "secretName")
	issuerSecret, _, _ := unstructured.NestedString(Find(t, objs, "Issuer", release+"-etcd-ca").Object, "spec", "ca", "secretName")
	assert.Equal(t, caSecret, issuerSecret, "the CA Issuer signs with the CA Certificate's key")

	for name, want := range map[string]struct {
		secret string
		usages []any
	}{
		release + "-etcd":        {release + "-etcd-tls", []any{"server auth", "client auth", "digital signature", "key encipherment"}},
		release + "-etcd-client": {release + "-etcd-client-tls", []any{"client auth", "digital signature", "key encipherment"}},
	} {
		cert := Find(t, objs, "Certificate", name)
		secret, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
		assert.Equal(t, want.secret, secret, name)
		usages, _, _ := unstructured.NestedSlice(cert.Object, "spec", "usages")
		assert.Equal(t, want.usages, usages, name)
		issuer, _, _ := unstructured.NestedStringMap(cert.Object, "spec", "issuerRef")
		assert.Equal(t, map[string]string{"name": release + "-etcd-ca", "kind": "Issuer", "group": "cert-manager.io"}, issuer, name)
	}
	dnsNames, _, _ := unstructured.NestedStringSlice(Find(t, objs, "Certificate", release+"-etcd").Object, "spec", "dnsNames")
	assert.Contains(t, dnsNames, fmt.Sprintf("*.%s-etcd.%s.svc", release, namespace))
	ips, _, _ := unstructured.NestedStringSlice(Find(t, objs, "Certificate", release+"-etcd").Object, "spec", "ipAddresses")
	assert.Equal(t, []string{"127.0.0.1"}, ips)
	for _, obj := range objs {
		assert.False(t, obj.GetKind() == "Secret" && obj.GetName() != release+"-tls", "cert-manager writes %s", obj.GetName())
	}

	objs = Objects(t, Template(t, release, namespace, "--values", filepath.Join(Dir(), "ci", "bundled-values.yaml"),
		"--set", "storage.bundled.tls.mode=certManager", "--set", "storage.bundled.tls.certManager.issuerRef.name=corp-ca",
		"--set", "storage.bundled.tls.certManager.issuerRef.kind=ClusterIssuer"))
	for _, name := range []string{release + "-etcd", release + "-etcd-client"} {
		issuer, _, _ := unstructured.NestedStringMap(Find(t, objs, "Certificate", name).Object, "spec", "issuerRef")
		assert.Equal(t, map[string]string{"name": "corp-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}, issuer, name)
	}
	for _, obj := range objs {
		assert.NotEqual(t, "Issuer", obj.GetKind())
		assert.NotEqual(t, release+"-etcd-ca", obj.GetName())
	}
}

// storage.bundled.tls.mode secret: the members and the server mount the Secrets named, the
// chart makes none, and it refuses to render without both names.
func TestBundledEtcdSecretTLS(t *testing.T) {
	objs := bundledTLS(t, "corp-etcd-member", "corp-etcd-client", "--set", "storage.bundled.tls.mode=secret",
		"--set", "storage.bundled.tls.secret.memberSecretName=corp-etcd-member",
		"--set", "storage.bundled.tls.secret.clientSecretName=corp-etcd-client")
	for _, obj := range objs {
		assert.False(t, obj.GetKind() == "Secret" && obj.GetName() != release+"-tls", "the chart makes Secret %s", obj.GetName())
		assert.NotEqual(t, "Certificate", obj.GetKind())
	}
	const want = "storage.bundled.tls.secret.memberSecretName and storage.bundled.tls.secret.clientSecretName: both required"
	refused(t, want, "--set", "storage.mode=bundled", "--set", "replicas=2", "--set", "storage.bundled.tls.mode=secret")
	refused(t, want, "--set", "storage.mode=bundled", "--set", "storage.bundled.tls.mode=secret",
		"--set", "storage.bundled.tls.secret.memberSecretName=corp-etcd-member")
	refused(t, "/storage/bundled/tls/mode", "--set", "storage.mode=bundled", "--set", "storage.bundled.tls.mode=plain")
}

// leaf is the certificate of a kubernetes.io/tls Secret, checked against its key.
func leaf(t *testing.T, secret *corev1.Secret) *x509.Certificate {
	t.Helper()
	pair, err := tls.X509KeyPair(secret.Data["tls.crt"], secret.Data["tls.key"])
	require.NoError(t, err, "%s: the certificate and the key belong together", secret.Name)
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	require.NoError(t, err)
	return cert
}
