package node

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The chart as TestMain installed it (embedded storage, the certificate made by the chart):
// kube-apiserver reaches both APIServices through the release's Service, verifying the
// server with the chart's caBundle, and the Service's endpoint is the server's Pod, on the
// node, in the Pods' range. Both webhooks name that Service with the same caBundle, and a
// tenant's writes reach the Pod: the webhooks' request counters on the Pod's /metrics go up
// by the tenant's ConfigMap and Pod.
func TestChartServesThroughTheInClusterService(t *testing.T) {
	ca := must(t, "the chart's CA")(kubectl(t, "get", "secret", "-n", releaseNamespace, release+"-tls", "-o", "jsonpath={.data.ca\\.crt}"))
	if _, err := base64.StdEncoding.DecodeString(ca); err != nil || ca == "" {
		t.Fatalf("Secret %s-tls has no ca.crt: %q", release, ca)
	}
	for _, group := range []string{"config", "tenancy"} {
		name := "apiservice/v1alpha1." + group + ".kiosk.sh"
		got := must(t, name)(kubectl(t, "get", name, "-o",
			`jsonpath={.spec.service.namespace}/{.spec.service.name}:{.spec.service.port} {.spec.insecureSkipTLSVerify} {.status.conditions[?(@.type=="Available")].status}`))
		if want := releaseNamespace + "/" + release + ":443  True"; got != want {
			t.Errorf("%s: service, insecureSkipTLSVerify, Available = %q, want %q", name, got, want)
		}
		if bundle := must(t, name)(kubectl(t, "get", name, "-o", "jsonpath={.spec.caBundle}")); bundle != ca {
			t.Errorf("%s: caBundle is not the CA of Secret %s-tls", name, release)
		}
	}
	for _, hook := range []string{"validatingwebhookconfiguration/" + release + "-accountquota", "mutatingwebhookconfiguration/" + release + "-pods"} {
		got := must(t, hook)(kubectl(t, "get", hook, "-o",
			"jsonpath={.webhooks[0].clientConfig.service.namespace}/{.webhooks[0].clientConfig.service.name}:{.webhooks[0].clientConfig.service.port} {.webhooks[0].clientConfig.url}"))
		if want := releaseNamespace + "/" + release + ":443 "; got != strings.TrimSpace(want) && got != want {
			t.Errorf("%s: clientConfig = %q, want the Service %s and no url", hook, got, want)
		}
		if bundle := must(t, hook)(kubectl(t, "get", hook, "-o", "jsonpath={.webhooks[0].clientConfig.caBundle}")); bundle != ca {
			t.Errorf("%s: caBundle is not the CA of Secret %s-tls", hook, release)
		}
	}
	pod := must(t, "the server's Pod")(kubectl(t, "get", "pod", "-n", releaseNamespace, "-l", "app.kubernetes.io/component=server",
		"-o", "jsonpath={.items[0].metadata.name} {.items[0].spec.nodeName} {.items[0].status.podIP}"))
	fields := strings.Fields(pod)
	if len(fields) != 3 {
		t.Fatalf("the server's Pod: %q", pod)
	}
	_, pods, _ := net.ParseCIDR(localEnv(t, "POD_CIDR"))
	if fields[1] != localEnv(t, "NODE_NAME") || !pods.Contains(net.ParseIP(fields[2])) {
		t.Errorf("the server's Pod %s runs on %q with IP %q, want the node and an IP in %s", fields[0], fields[1], fields[2], pods)
	}
	endpoints := must(t, "the Service's endpoints")(kubectl(t, "get", "endpointslices", "-n", releaseNamespace,
		"-l", "kubernetes.io/service-name="+release, "-o", "jsonpath={.items[*].endpoints[*].addresses[*]}"))
	if endpoints != fields[2] {
		t.Errorf("Service %s's endpoints = %q, want the server's Pod IP %s", release, endpoints, fields[2])
	}

	caPEM, _ := base64.StdEncoding.DecodeString(ca)
	quota, isolation := webhookRequests(t, fields[2], caPEM)
	const account, user = "chart-webhooks", "chart-webhooks-dev"
	tenantAccount(t, account, user, restricted)
	space := account + "-space"
	tenantSpace(t, user, space, account)
	must(t, "a ConfigMap as "+user)(kubectlAs(t, user, "create", "configmap", "settings", "-n", space, "--from-literal=a=b"))
	importStandin(t)
	runningPod(t, user, space, "listener", restrictedPod("listener", space, "", "serve", ":8080"))
	var quota2, isolation2 int
	poll(t, time.Minute, "the Pod's webhook counters count the tenant's writes", func() bool {
		quota2, isolation2 = webhookRequests(t, fields[2], caPEM)
		return quota2 >= quota+2 && isolation2 >= isolation+1
	})
	t.Logf("the server's Pod %s (%s) answered %d AccountQuota webhook requests (%d before the tenant's writes) and %d Pod isolation ones (%d before)",
		fields[0], fields[2], quota2, quota, isolation2, isolation)
}

var admissionCount = regexp.MustCompile(`(?m)^tenancy_(accountquota|pod_isolation)_admission_duration_seconds_count(\{[^}]*\})? (\d+)$`)

// webhookRequests reads the /metrics of the server's Pod at ip, as the admin (its client
// certificate, which the server authenticates as kube-apiserver does), verifying the Pod with
// the chart's CA for the Service's name, and returns the requests the AccountQuota webhook
// and the Pod isolation webhook decided.
func webhookRequests(t *testing.T, ip string, ca []byte) (quota, isolation int) {
	t.Helper()
	pki := localEnv(t, "PKI_DIR")
	admin, err := tls.LoadX509KeyPair(filepath.Join(pki, "admin.crt"), filepath.Join(pki, "admin.key"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(ca) {
		t.Fatal("the chart's ca.crt is not PEM")
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: roots, ServerName: release + "." + releaseNamespace + ".svc", Certificates: []tls.Certificate{admin}, MinVersion: tls.VersionTLS12}}}
	resp, err := client.Get("https://" + net.JoinHostPort(ip, "8443") + "/metrics")
	if err != nil {
		t.Fatalf("the server's /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the server's /metrics: %s: %s", resp.Status, body)
	}
	for _, m := range admissionCount.FindAllStringSubmatch(string(body), -1) {
		n, _ := strconv.Atoi(m[3])
		if m[1] == "accountquota" {
			quota += n
		} else {
			isolation += n
		}
	}
	return quota, isolation
}
