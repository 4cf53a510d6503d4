package e2e

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/template/helm/helmtest"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// guardRailsChart is a chart a platform team would ship: a ResourceQuota and a ConfigMap
// from its values.
var guardRailsChart = map[string]string{
	"values.yaml": "team: nobody\npods: 2\ntier: bronze\n",
	"templates/quota.yaml": `apiVersion: v1
kind: ResourceQuota
metadata:
  name: {{ .Release.Name }}-quota
spec:
  hard:
    pods: {{ .Values.pods | quote }}
`,
	"templates/settings.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .Release.Name }}-settings
  namespace: {{ .Release.Namespace }}
data:
  team: {{ .Values.team | quote }}
  tier: {{ .Values.tier | quote }}
`,
	"templates/NOTES.txt": "Guard rails are in place.\n",
}

// helmTemplateYAML is a Template with a chart from repoURL at version, values that use the
// predefined ${ACCOUNT} and a parameter, a setValue, and one plain manifest.
func helmTemplateYAML(name, repoURL, version, pods, credentials string) string {
	return `apiVersion: config.kiosk.sh/v1alpha1
kind: Template
metadata:
  name: ` + name + `
parameters:
- name: PODS
  value: "` + pods + `"
resources:
  manifests:
  - apiVersion: v1
    kind: ServiceAccount
    metadata:
      name: deployer
  helm:
    chart:
      repository:
        name: guard-rails
        version: "` + version + `"
        repoUrl: ` + repoURL + credentials + `
    values: |
      team: ${ACCOUNT}
      pods: ${{PODS}}
    setValues:
    - name: tier
      value: gold
`
}

// credentialsYAML points the Template at a Secret's keys.
func credentialsYAML(namespace, secret string) string {
	return `
        username: {name: ` + secret + `, namespace: ` + namespace + `, key: username}
        password: {name: ` + secret + `, namespace: ` + namespace + `, key: password}`
}

func instanceStatus(t *testing.T, namespace, name string, want configv1alpha1.TemplateInstanceDeploymentStatus) *configv1alpha1.TemplateInstance {
	t.Helper()
	instances := cluster.AdminClients(t).Kiosk.ConfigV1alpha1().TemplateInstances(namespace)
	var got *configv1alpha1.TemplateInstance
	eventually(t, "instance "+namespace+"/"+name+" is "+string(want), func(ctx context.Context) bool {
		ti, err := instances.Get(ctx, name, metav1.GetOptions{})
		got = ti
		return err == nil && ti.Status.Status == want
	})
	return got
}

// mandatoryChartSetup is an Account whose mandatory, synced template renders guard-rails
// from a repository of its own that has version 1.0.0, a tenant of it who may create Spaces,
// and the name of the Space the tenant is to create.
type mandatoryChartSetup struct {
	repository                       *helmtest.Repository
	tenant, account, template, space string
}

// mandatoryChart sets up an Account whose Template asks for the given version of the chart.
func mandatoryChart(t *testing.T, version string) mandatoryChartSetup {
	admin := cluster.Admin()
	m := mandatoryChartSetup{repository: helmtest.NewRepository(t),
		tenant: framework.UniqueName("helm-tenant"), account: framework.UniqueName("helm-account"),
		template: framework.UniqueName("rails-chart"), space: framework.UniqueName("helm-space")}
	m.repository.Add(t, "guard-rails", "1.0.0", guardRailsChart)
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", m.space, "--ignore-not-found", "--wait=false").Deleted(t)
		admin.Run(t, "delete", "accounts.config.kiosk.sh", m.account, "--ignore-not-found").Deleted(t)
		admin.Run(t, "delete", "template", m.template, "--ignore-not-found").Deleted(t)
	})
	grantKioskEdit(t, cluster.AdminClients(t), m.tenant, m.tenant)
	admin.Apply(t, helmTemplateYAML(m.template, m.repository.URL(), version, "5", "")).Success(t)
	admin.Apply(t, accountYAML(m.account, m.tenant, "    templateInstances:\n    - spec:\n        template: "+m.template+"\n        sync: true\n")).Success(t)
	return m
}

// A chart from an HTTP chart repository is an Account's mandatory template: a Space a tenant
// creates with kubectl gets the chart's objects with the manifests, and with sync, changing
// the Template's values updates them.
func TestHelmChartAsMandatoryTemplate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	admin := cluster.Admin()
	clients := cluster.AdminClients(t)
	m := mandatoryChart(t, "1.0.0")
	repository, tenant, account, tmpl, ns := m.repository, m.tenant, m.account, m.template, m.space

	cluster.As(tenant).Apply(t, space(ns, account)).Success(t)
	deployed := instanceStatus(t, ns, tmpl, configv1alpha1.TemplateInstanceStatusDeployed)
	assert.Len(t, deployed.Status.AppliedObjects, 3, "the manifest and the chart's two objects")
	settings, err := clients.Kube.CoreV1().ConfigMaps(ns).Get(ctx, tmpl+"-settings", metav1.GetOptions{})
	require.NoError(t, err, "the release is named after the Template")
	assert.Equal(t, account, settings.Data["team"], "${ACCOUNT} is substituted in values")
	assert.Equal(t, "gold", settings.Data["tier"], "setValues apply over values")
	quota, err := clients.Kube.CoreV1().ResourceQuotas(ns).Get(ctx, tmpl+"-quota", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "5", quota.Spec.Hard.Pods().String())
	_, err = clients.Kube.CoreV1().ServiceAccounts(ns).Get(ctx, "deployer", metav1.GetOptions{})
	require.NoError(t, err, "the manifests are applied with the chart")
	assert.Contains(t, admin.Run(t, "get", "resourcequota", "-n", ns).Success(t).Stdout, tmpl+"-quota",
		"kubectl shows the chart's objects")

	admin.Apply(t, helmTemplateYAML(tmpl, repository.URL(), "1.0.0", "7", "")).Success(t)
	eventually(t, "the chart's quota follows the Template's values", func(ctx context.Context) bool {
		q, err := clients.Kube.CoreV1().ResourceQuotas(ns).Get(ctx, tmpl+"-quota", metav1.GetOptions{})
		return err == nil && q.Spec.Hard.Pods().String() == "7"
	})
	assert.Equal(t, 1, repository.Downloads(), "the pinned chart is downloaded once, then cached")

	// The chart's objects go with the instance; the Account's controller then creates the
	// mandatory instance again, which makes new ones. kubectl does not wait for the deletion:
	// the instance comes back under its name within milliseconds, and kubectl (1.32) waits
	// for a name to be gone, not for the UID it deleted, when the new one is already there
	// at its list.
	admin.Run(t, "delete", "templateinstance", tmpl, "-n", ns, "--wait=false").Success(t)
	eventually(t, "the chart's objects go with the instance, and come back with it", func(ctx context.Context) bool {
		cm, err := clients.Kube.CoreV1().ConfigMaps(ns).Get(ctx, tmpl+"-settings", metav1.GetOptions{})
		return apierrors.IsNotFound(err) || (err == nil && cm.UID != settings.UID)
	})
}

// A version the repository does not have fails with ChartNotFound, naming the versions it
// has; the instance is retried, and deploys once the version is published.
func TestHelmChartWrongVersionFailsAndRetries(t *testing.T) {
	t.Parallel()
	admin := cluster.Admin()
	repository := helmtest.NewRepository(t)
	repository.Add(t, "guard-rails", "1.0.0", guardRailsChart)
	tmpl, ns := framework.UniqueName("rails-chart"), framework.UniqueName("helm-version")
	admin.Run(t, "create", "namespace", ns).Success(t)
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", ns, "--wait=false").Deleted(t)
		admin.Run(t, "delete", "template", tmpl, "--ignore-not-found").Deleted(t)
	})
	admin.Apply(t, helmTemplateYAML(tmpl, repository.URL(), "2.0.0", "3", "")).Success(t)
	admin.Apply(t, instanceYAML("rails", ns, tmpl, false)).Success(t)

	failed := instanceStatus(t, ns, "rails", configv1alpha1.TemplateInstanceStatusFailed)
	assert.Equal(t, "ChartNotFound", failed.Status.Reason)
	assert.Contains(t, failed.Status.Message, "resources.helm.chart.repository.version")
	assert.Contains(t, failed.Status.Message, "no version 2.0.0 of chart guard-rails; it has 1.0.0")
	assert.Contains(t, admin.Run(t, "get", "templateinstance", "rails", "-n", ns, "-o", "jsonpath={.status.reason}").Success(t).Stdout, "ChartNotFound")

	repository.Add(t, "guard-rails", "2.0.0", guardRailsChart)
	instanceStatus(t, ns, "rails", configv1alpha1.TemplateInstanceStatusDeployed)
	assert.Equal(t, "3", strings.TrimSpace(admin.Run(t, "get", "resourcequota", tmpl+"-quota", "-n", ns, "-o", "jsonpath={.spec.hard.pods}").Success(t).Stdout),
		"retried with backoff until the version exists; the release is named after the Template")
}

// A repository that needs basic auth: without credentials the instance fails with
// Unauthorized; with a Secret the admin keeps outside every Space it deploys; a Secret in a
// Space is refused, since its tenants write it.
func TestHelmRepositoryCredentials(t *testing.T) {
	t.Parallel()
	admin := cluster.Admin()
	repository := helmtest.NewRepository(t)
	repository.Add(t, "guard-rails", "1.0.0", guardRailsChart)
	repository.RequireBasicAuth("reader", "s3cret")
	anonymous, withSecret, fromSpace := framework.UniqueName("rails-anon"), framework.UniqueName("rails-auth"), framework.UniqueName("rails-space")
	ns, creds, tenantNS := framework.UniqueName("helm-auth"), framework.UniqueName("helm-creds"), framework.UniqueName("helm-tenant-ns")
	admin.Run(t, "create", "namespace", ns).Success(t)
	admin.Run(t, "create", "namespace", creds).Success(t)
	admin.Run(t, "create", "namespace", tenantNS).Success(t)
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", ns, creds, tenantNS, "--wait=false").Deleted(t)
		admin.Run(t, "delete", "template", anonymous, withSecret, fromSpace, "--ignore-not-found").Deleted(t)
	})
	admin.Run(t, "label", "namespace", tenantNS, "kiosk.sh/account="+framework.UniqueName("someone")).Success(t)
	for _, n := range []string{creds, tenantNS} {
		admin.Run(t, "create", "secret", "generic", "chart-repo", "-n", n, "--from-literal=username=reader", "--from-literal=password=s3cret").Success(t)
	}
	admin.Apply(t, helmTemplateYAML(anonymous, repository.URL(), "1.0.0", "3", "")).Success(t)
	admin.Apply(t, helmTemplateYAML(withSecret, repository.URL(), "1.0.0", "3", credentialsYAML(creds, "chart-repo"))).Success(t)
	admin.Apply(t, helmTemplateYAML(fromSpace, repository.URL(), "1.0.0", "3", credentialsYAML(tenantNS, "chart-repo"))).Success(t)
	admin.Apply(t, instanceYAML("anonymous", ns, anonymous, false)).Success(t)
	admin.Apply(t, instanceYAML("with-secret", ns, withSecret, false)).Success(t)
	admin.Apply(t, instanceYAML("from-space", ns, fromSpace, false)).Success(t)

	failed := instanceStatus(t, ns, "anonymous", configv1alpha1.TemplateInstanceStatusFailed)
	assert.Equal(t, "Unauthorized", failed.Status.Reason)
	assert.Contains(t, failed.Status.Message, "401")
	instanceStatus(t, ns, "with-secret", configv1alpha1.TemplateInstanceStatusDeployed)
	admin.Run(t, "get", "configmap", withSecret+"-settings", "-n", ns).Success(t)
	refused := instanceStatus(t, ns, "from-space", configv1alpha1.TemplateInstanceStatusFailed)
	assert.Equal(t, "SecretNotAllowed", refused.Status.Reason)
	assert.Contains(t, refused.Status.Message, tenantNS)
	assert.NotContains(t, refused.Status.Message+failed.Status.Message, "s3cret", "credentials never show in status")
	assert.Equal(t, 1, repository.Downloads())
}

// A tenant whose Account mandates a chart the repository does not have is told why the Space
// cannot be created, and is left with no half-made Space.
func TestSpaceCreateReportsChartFailure(t *testing.T) {
	t.Parallel()
	clients := cluster.AdminClients(t)
	m := mandatoryChart(t, "9.9.9")
	r := cluster.As(m.tenant).Apply(t, space(m.space, m.account)).Failure(t)
	assert.Contains(t, r.Stderr, "ChartNotFound")
	assert.Contains(t, r.Stderr, "no version 9.9.9 of chart guard-rails")
	eventually(t, "the failed Space's namespace is removed", func(ctx context.Context) bool {
		n, err := clients.Kube.CoreV1().Namespaces().Get(ctx, m.space, metav1.GetOptions{})
		return apierrors.IsNotFound(err) || (err == nil && n.DeletionTimestamp != nil)
	})
}
