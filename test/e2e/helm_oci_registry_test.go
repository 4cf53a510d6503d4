package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"helm.sh/helm/v4/pkg/registry"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/template/helm/helmtest"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// localRegistry is the OCI registry hack/local-up.sh runs (hack/lib/registry.sh), as its env
// file records it.
type localRegistry struct {
	address, username, password string
	transport                   *http.Transport
}

func openLocalRegistry(t *testing.T) localRegistry {
	t.Helper()
	env := cluster.Env
	if env["REGISTRY_ADDRESS"] == "" {
		t.Fatalf("%s/env has no REGISTRY_ADDRESS: the local control plane runs without its registry (REGISTRY=0); restart it with REGISTRY=1", cluster.Dir)
	}
	caPEM, err := os.ReadFile(env["REGISTRY_CA"])
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(caPEM), "REGISTRY_CA holds a certificate")
	password, err := os.ReadFile(env["REGISTRY_PASSWORD_FILE"])
	require.NoError(t, err)
	return localRegistry{address: env["REGISTRY_ADDRESS"], username: env["REGISTRY_USERNAME"], password: strings.TrimSpace(string(password)),
		transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// pushChart packages a chart and pushes it with Helm's registry client, as `helm push` does.
func (r localRegistry) pushChart(t *testing.T, repository, name, version string, files map[string]string) {
	t.Helper()
	client, err := registry.NewClient(registry.ClientOptHTTPClient(&http.Client{Transport: r.transport}),
		registry.ClientOptBasicAuth(r.username, r.password), registry.ClientOptWriter(io.Discard))
	require.NoError(t, err)
	_, err = client.Push(helmtest.Package(t, name, version, files), r.address+"/"+repository+"/"+name+":"+version)
	require.NoError(t, err, "helm push to the local registry")
}

// An OCI chart from the loopback registry local-up runs, over TLS with its own CA and a
// password: with the credentials' Secret the instance deploys, also for a version range that
// needs the registry's tag list; without credentials, or with a wrong password, it fails with
// Unauthorized and never shows the password.
func TestHelmChartFromTheLocalRegistry(t *testing.T) {
	t.Parallel()
	reg := openLocalRegistry(t)
	admin := cluster.Admin()
	repository := "charts/" + framework.UniqueName("platform")
	reg.pushChart(t, repository, "guard-rails", "1.0.0", guardRailsChart)
	reg.pushChart(t, repository, "guard-rails", "1.2.0", guardRailsChart)
	repoURL := "oci://" + reg.address + "/" + repository

	// Two deployed instances of Templates with the same manifests need two namespaces.
	ns, rangeNS, creds := framework.UniqueName("helm-oci"), framework.UniqueName("helm-oci-range"), framework.UniqueName("helm-oci-creds")
	withSecret, ranged, anonymous, wrong := framework.UniqueName("oci-auth"), framework.UniqueName("oci-range"), framework.UniqueName("oci-anon"), framework.UniqueName("oci-wrong")
	for _, n := range []string{ns, rangeNS, creds} {
		admin.Run(t, "create", "namespace", n).Success(t)
	}
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", ns, rangeNS, creds, "--wait=false").Deleted(t)
		admin.Run(t, "delete", "template", withSecret, ranged, anonymous, wrong, "--ignore-not-found").Deleted(t)
	})
	admin.Run(t, "create", "secret", "generic", "registry", "-n", creds,
		"--from-literal=username="+reg.username, "--from-literal=password="+reg.password).Success(t)
	admin.Run(t, "create", "secret", "generic", "wrong", "-n", creds,
		"--from-literal=username="+reg.username, "--from-literal=password=not-"+reg.password).Success(t)
	admin.Apply(t, helmTemplateYAML(withSecret, repoURL, "1.0.0", "3", credentialsYAML(creds, "registry"))).Success(t)
	admin.Apply(t, helmTemplateYAML(ranged, repoURL, "^1.1", "4", credentialsYAML(creds, "registry"))).Success(t)
	admin.Apply(t, helmTemplateYAML(anonymous, repoURL, "1.0.0", "3", "")).Success(t)
	admin.Apply(t, helmTemplateYAML(wrong, repoURL, "1.0.0", "3", credentialsYAML(creds, "wrong"))).Success(t)
	for _, name := range []string{withSecret, anonymous, wrong} {
		admin.Apply(t, instanceYAML(name, ns, name, false)).Success(t)
	}
	admin.Apply(t, instanceYAML(ranged, rangeNS, ranged, false)).Success(t)

	instanceStatus(t, ns, withSecret, configv1alpha1.TemplateInstanceStatusDeployed)
	assert.Equal(t, "gold", admin.Run(t, "get", "configmap", withSecret+"-settings", "-n", ns, "-o", "jsonpath={.data.tier}").Success(t).Stdout,
		"the chart pulled over TLS from the registry is rendered")
	instanceStatus(t, rangeNS, ranged, configv1alpha1.TemplateInstanceStatusDeployed)
	assert.Equal(t, "4", strings.TrimSpace(admin.Run(t, "get", "resourcequota", ranged+"-quota", "-n", rangeNS, "-o", "jsonpath={.spec.hard.pods}").Success(t).Stdout))

	for _, name := range []string{anonymous, wrong} {
		failed := instanceStatus(t, ns, name, configv1alpha1.TemplateInstanceStatusFailed)
		assert.Equal(t, "Unauthorized", failed.Status.Reason, name)
		assert.Contains(t, failed.Status.Message, reg.address, name)
		assert.NotContains(t, failed.Status.Message, reg.password, "credentials never show in status")
		admin.Run(t, "get", "configmap", name+"-settings", "-n", ns).Failure(t)
	}
}
