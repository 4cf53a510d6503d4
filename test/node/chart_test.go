package node

import (
	"encoding/base64"
	"net"
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
// tenant's writes reach the Pod: the webhooks' request counters on the Pod's /metrics
// (read through the same Service) go up by the tenant's ConfigMap and Pod.
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

	quota, isolation := webhookRequests(t)
	const account, user = "chart-webhooks", "chart-webhooks-dev"
	tenantAccount(t, account, user, restricted)
	space := account + "-space"
	tenantSpace(t, user, space, account)
	must(t, "a ConfigMap as "+user)(kubectlAs(t, user, "create", "configmap", "settings", "-n", space, "--from-literal=a=b"))
	importStandin(t)
	runningPod(t, user, space, "listener", restrictedPod("listener", space, "", "serve", ":8080"))
	var quota2, isolation2 int
	poll(t, time.Minute, "the Pod's webhook counters count the tenant's writes", func() bool {
		quota2, isolation2 = webhookRequests(t)
		return quota2 >= quota+2 && isolation2 >= isolation+1
	})
	t.Logf("the server's Pod %s (%s) answered %d AccountQuota webhook requests (%d before the tenant's writes) and %d Pod isolation ones (%d before)",
		fields[0], fields[2], quota2, quota, isolation2, isolation)
}

var admissionCount = regexp.MustCompile(`(?m)^tenancy_(accountquota|pod_isolation)_admission_duration_seconds_count\{[^}]*\} (\d+)$`)

// webhookRequests reads the server's /metrics through kube-apiserver's proxy to the
// release's Service, and returns the requests the AccountQuota webhook and the Pod isolation
// webhook decided.
func webhookRequests(t *testing.T) (quota, isolation int) {
	t.Helper()
	metrics := must(t, "the server's /metrics")(kubectl(t, "get", "--raw",
		"/api/v1/namespaces/"+releaseNamespace+"/services/https:"+release+":443/proxy/metrics"))
	for _, m := range admissionCount.FindAllStringSubmatch(metrics, -1) {
		n, _ := strconv.Atoi(m[2])
		if m[1] == "accountquota" {
			quota += n
		} else {
			isolation += n
		}
	}
	return quota, isolation
}
