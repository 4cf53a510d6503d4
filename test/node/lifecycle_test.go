package node

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// helm upgrade and helm uninstall of the release TestMain installed (embedded storage), after
// the suite's other tests ran against it. The upgrade changes the log level and the webhook's
// timeout: the webhook configuration has the new timeout, the StatefulSet replaces the Pod
// with one running --v=3, both groups are served again, and an Account made before the
// upgrade is still there (the embedded etcd's volume outlived the Pod). The uninstall then
// leaves exactly what docs/eks.md says it keeps, compared object by object with the cluster
// before the install: the embedded etcd's claim, a tenant's Space namespace with its
// RoleBindings, and the release namespace helm created (with what Kubernetes puts in every
// namespace, and the server's leader-election Lease).
func TestChartUpgradeAndUninstall(t *testing.T) {
	const account = "chart-upgrade"
	removeAccount(t, account)
	must(t, "Account "+account)(applyAs(t, "", "apiVersion: config.kiosk.sh/v1alpha1\nkind: Account\nmetadata:\n  name: "+account+
		"\nspec:\n  subjects:\n  - kind: User\n    name: chart-upgrade-dev\n    apiGroup: rbac.authorization.k8s.io\n"))
	podUID := must(t, "the server's Pod")(kubectl(t, "get", "pod", "-n", releaseNamespace, release+"-0", "-o", "jsonpath={.metadata.uid}"))

	started := time.Now()
	must(t, "helm upgrade")(helm(t.Context(), "upgrade", release, root+"/charts/tenancy-apiserver", "--namespace", releaseNamespace,
		"--reuse-values", "--set", "logLevel=3", "--set", "webhook.timeoutSeconds=7", "--wait", "--timeout", "5m"))
	if err := waitServed(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Logf("helm upgrade until both groups were served again took %s", time.Since(started).Round(time.Second))
	if got := must(t, "the webhook's timeout")(kubectl(t, "get", "validatingwebhookconfiguration", release+"-accountquota",
		"-o", "jsonpath={.webhooks[0].timeoutSeconds}")); got != "7" {
		t.Errorf("webhook timeoutSeconds = %s after the upgrade, want 7", got)
	}
	got := must(t, "the server's Pod")(kubectl(t, "get", "pod", "-n", releaseNamespace, release+"-0", "-o",
		`jsonpath={.metadata.uid} {.spec.containers[0].args} {.status.conditions[?(@.type=="Ready")].status}`))
	if strings.HasPrefix(got, podUID+" ") || !strings.Contains(got, `"--v=3"`) || !strings.HasSuffix(got, " True") {
		t.Errorf("the server's Pod after the upgrade: %s; want a new Pod (not %s), Ready, with --v=3", got, podUID)
	}
	must(t, "Account "+account+" after the upgrade")(kubectl(t, "get", "accounts.config.kiosk.sh", account))

	// A tenant's Space, whose namespace the uninstall leaves.
	const tenant, user = "chart-uninstall", "chart-uninstall-dev"
	tenantAccount(t, tenant, user, "")
	space := tenant + "-space"
	tenantSpace(t, user, space, tenant)
	t.Cleanup(func() { _, _ = kubectl(t, "delete", "namespace", space, "--ignore-not-found", "--wait=false") })
	poll(t, time.Minute, "the Space's RoleBinding is there", func() bool {
		out, _ := kubectl(t, "get", "rolebindings", "-n", space, "-o", "name")
		return out != ""
	})
	// The test's own objects outside the Space go before the uninstall.
	must(t, "the kiosk-edit binding")(kubectl(t, "delete", "clusterrolebinding", user+"-kiosk-edit"))

	started = time.Now()
	must(t, "helm uninstall")(helm(t.Context(), "uninstall", release, "--namespace", releaseNamespace, "--wait", "--timeout", "5m"))
	t.Logf("helm uninstall took %s", time.Since(started).Round(time.Second))
	left := uninstallLeaves(t,
		regexp.MustCompile(`^Namespace /(`+releaseNamespace+`|`+space+`)$`),
		regexp.MustCompile(`^(ConfigMap|ServiceAccount) (`+releaseNamespace+`|`+space+`)/(kube-root-ca\.crt|default)$`),
		regexp.MustCompile(`^Lease `+releaseNamespace+`/`+release+`$`),
		regexp.MustCompile(`^PersistentVolumeClaim `+releaseNamespace+`/data-`+release+`-0$`),
		regexp.MustCompile(`^RoleBinding `+space+`/`))
	for _, want := range []string{"PersistentVolumeClaim " + releaseNamespace + "/data-" + release + "-0", "Namespace /" + space} {
		if !contains(left, want) {
			t.Errorf("helm uninstall removed %s, which docs/eks.md says it keeps", want)
		}
	}
	for _, gone := range []string{"apiservice/v1alpha1.config.kiosk.sh", "apiservice/v1alpha1.tenancy.kiosk.sh"} {
		if out, err := kubectl(t, "get", gone); err == nil || !strings.Contains(out, "NotFound") {
			t.Errorf("%s after helm uninstall: %v: %s", gone, err, out)
		}
	}
}

// uninstallLeaves polls until the cluster holds the objects it held before the chart was
// installed plus objects that match kept only, fails the test with the difference otherwise,
// and returns the objects kept.
func uninstallLeaves(t *testing.T, kept ...*regexp.Regexp) []string {
	t.Helper()
	var left, unexpected []string
	err := wait.PollUntilContextTimeout(t.Context(), time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		now, err := clusterObjects(ctx)
		if err != nil {
			t.Log(err)
			return false, nil
		}
		left, unexpected = nil, nil
		for _, change := range diff(snapshot{"objects": clusterBefore}, snapshot{"objects": now}) {
			if obj, added := strings.CutPrefix(change, "objects: added: "); added && matchesAny(kept, obj) {
				left = append(left, obj)
			} else {
				unexpected = append(unexpected, change)
			}
		}
		return len(unexpected) == 0, nil
	})
	if err != nil {
		t.Errorf("after helm uninstall, the cluster differs from before the install by more than what the uninstall keeps:\n%s",
			strings.Join(unexpected, "\n"))
	}
	t.Logf("helm uninstall left, as docs/eks.md says:\n%s", strings.Join(left, "\n"))
	return left
}

func matchesAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// The chart with its bundled 3-member etcd over TLS (certificates made by the chart) and two
// replicas, installed after the embedded release is gone, on the same node: the members form
// their cluster through the cluster DNS and serve clients and peers only with TLS; an etcd
// client with no certificate, or with one the chart did not make, is refused, and the
// server's own client certificate is accepted. The walkthrough's container steps pass
// against these two replicas, and the uninstall keeps only the members' claims (and the
// embedded release's one from before).
func TestChartBundledEtcdOverTLS(t *testing.T) {
	etcdImage, err := readEnv("ETCD_IMAGE")
	if err != nil {
		t.Fatal(err)
	}
	if etcdImage == "" {
		t.Fatalf("local-up imported no etcd image (ETCD_IMAGE is not in %s/env): run make etcd-image", localDir)
	}
	started := time.Now()
	if err := installChart(t.Context(), []string{"bundled-values.yaml"}, imageValues("storage.bundled.image", etcdImage)...); err != nil {
		out, _ := kubectl(t, "get", "pods", "-n", releaseNamespace, "-o", "wide")
		logs, _ := kubectl(t, "logs", "-n", releaseNamespace, release+"-etcd-0", "--tail=30")
		t.Fatalf("%v\n%s\n%s", err, out, logs)
	}
	t.Logf("helm install (bundled etcd, 3 members, 2 replicas) until both groups were served took %s", time.Since(started).Round(time.Second))
	t.Cleanup(func() {
		_, _ = helm(context.Background(), "uninstall", release, "--namespace", releaseNamespace, "--wait")
	})

	members := must(t, "the etcd members")(kubectl(t, "get", "pods", "-n", releaseNamespace, "-l", "app.kubernetes.io/component=etcd",
		"-o", `jsonpath={range .items[*]}{.metadata.name} {.status.podIP} {.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}`))
	if got := len(lines(members)); got != 3 {
		t.Fatalf("etcd members:\n%s\nwant 3", members)
	}
	for _, m := range lines(members) {
		if !strings.HasSuffix(m, " True") {
			t.Errorf("etcd member not Ready: %s", m)
		}
	}
	logs := must(t, "etcd-0's log")(kubectl(t, "logs", "-n", releaseNamespace, release+"-etcd-0"))
	for _, want := range []string{"starting with client TLS", "starting with peer TLS", "client-cert-auth = true", "serving client traffic securely"} {
		if !strings.Contains(logs, want) {
			t.Errorf("etcd-0's log does not say %s", want)
		}
	}
	ip := strings.Fields(lines(members)[0])[1]
	etcdAccepts(t, ip)

	waitForLeader(t)
	// A subtest, so that its cleanup (the walkthrough's Spaces) runs before the uninstall.
	t.Run("walkthrough", walkthroughContainers)

	started = time.Now()
	must(t, "helm uninstall")(helm(t.Context(), "uninstall", release, "--namespace", releaseNamespace, "--wait", "--timeout", "5m"))
	t.Logf("helm uninstall took %s", time.Since(started).Round(time.Second))
	left := uninstallLeaves(t,
		regexp.MustCompile(`^Namespace /`+releaseNamespace+`$`),
		regexp.MustCompile(`^(ConfigMap|ServiceAccount) `+releaseNamespace+`/(kube-root-ca\.crt|default)$`),
		regexp.MustCompile(`^Lease `+releaseNamespace+`/`+release+`$`),
		regexp.MustCompile(`^PersistentVolumeClaim `+releaseNamespace+`/data-`+release+`-(0|etcd-[012])$`))
	for i := range 3 {
		if want := fmt.Sprintf("PersistentVolumeClaim %s/data-%s-etcd-%d", releaseNamespace, release, i); !contains(left, want) {
			t.Errorf("helm uninstall removed %s, which docs/eks.md says it keeps", want)
		}
	}
}

// etcdAccepts connects to the etcd member at ip's client port with TLS, verifying its
// certificate for its name against the CA of the server's Secret: with the server's client
// certificate /health answers; with none, or with one of another CA, the member refuses.
func etcdAccepts(t *testing.T, ip string) {
	t.Helper()
	secret := func(name, key string) []byte {
		out := must(t, "Secret "+name)(kubectl(t, "get", "secret", "-n", releaseNamespace, name, "-o", "jsonpath={.data."+strings.ReplaceAll(key, ".", `\.`)+"}"))
		data, err := base64.StdEncoding.DecodeString(out)
		if err != nil || len(data) == 0 {
			t.Fatalf("Secret %s has no %s", name, key)
		}
		return data
	}
	client := release + "-etcd-client-tls"
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(secret(client, "ca.crt")) {
		t.Fatal("the client Secret's ca.crt is not PEM")
	}
	own, err := tls.X509KeyPair(secret(client, "tls.crt"), secret(client, "tls.key"))
	if err != nil {
		t.Fatal(err)
	}
	other := selfSignedClient(t)
	serverName := fmt.Sprintf("%[1]s-etcd-0.%[1]s-etcd.%[2]s.svc", release, releaseNamespace)
	get := func(cert *tls.Certificate) (string, error) {
		// The certificate is sent whatever CAs etcd names as acceptable.
		present := func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			if cert == nil {
				return &tls.Certificate{}, nil
			}
			return cert, nil
		}
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: roots, ServerName: serverName, GetClientCertificate: present, MinVersion: tls.VersionTLS12}}}
		resp, err := c.Get("https://" + net.JoinHostPort(ip, "2379") + "/health")
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.Status + " " + string(body), nil
	}
	if got, err := get(&own); err != nil || !strings.Contains(got, `"health":"true"`) {
		t.Errorf("etcd /health with the server's client certificate: %q, %v", got, err)
	} else {
		t.Logf("etcd-0 (%s) with the server's client certificate: %s", ip, got)
	}
	for what, cert := range map[string]*tls.Certificate{"no client certificate": nil, "a certificate of another CA": &other} {
		got, err := get(cert)
		if err == nil {
			t.Errorf("etcd answered a client with %s: %s", what, got)
			continue
		}
		t.Logf("etcd-0 refuses a client with %s: %v", what, err)
	}
}

// selfSignedClient is a client certificate no CA of the chart signed.
func selfSignedClient(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: release},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// waitForLeader waits until the leader-election Lease is held by one of this release's server
// Pods (its holder identity is the Pod's host name and a UID): an earlier release's Lease, which
// uninstall keeps, holds the controllers (mandatory Templates among them) back until it expires.
func waitForLeader(t *testing.T) {
	t.Helper()
	poll(t, 2*time.Minute, "a server Pod of this release holds the leader-election Lease", func() bool {
		holder, err := kubectl(t, "get", "lease", "-n", releaseNamespace, release, "-o", "jsonpath={.spec.holderIdentity}")
		if err != nil || strings.TrimSpace(holder) == "" {
			return false
		}
		pods, err := kubectl(t, "get", "pods", "-n", releaseNamespace, "-l", "app.kubernetes.io/component=server",
			"-o", `jsonpath={range .items[*]}{.metadata.name}{"\n"}{end}`)
		if err != nil {
			return false
		}
		for _, p := range lines(pods) {
			if strings.HasPrefix(strings.TrimSpace(holder), strings.TrimSpace(p)+"_") {
				return true
			}
		}
		return false
	})
}
