package chart

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

const release, namespace = "tenancy-apiserver", "tenancy-system"

// valueSets are the chart's default values and every ci/*-values.yaml.
func valueSets(t *testing.T) map[string][]string {
	files, err := filepath.Glob(filepath.Join(Dir(), "ci", "*-values.yaml"))
	require.NoError(t, err)
	require.Len(t, files, 4, "ci/ holds embedded, external, bundled and cert-manager values")
	sets := map[string][]string{"default": nil}
	for _, file := range files {
		sets[strings.TrimSuffix(filepath.Base(file), "-values.yaml")] = []string{"--values", file}
	}
	return sets
}

func TestLint(t *testing.T) {
	for name, args := range valueSets(t) {
		t.Run(name, func(t *testing.T) {
			out, stderr, err := Helm(t, append([]string{"lint", "--strict", Dir()}, args...)...)
			require.NoError(t, err, "%s\n%s", out, stderr)
			assert.Contains(t, out, "1 chart(s) linted, 0 chart(s) failed")
		})
	}
}

// Every rendered object of a kind client-go knows decodes strictly (no unknown or misplaced
// field), namespaced objects name their namespace, and each of the server's and etcd's
// containers runs hardened.
func TestTemplate(t *testing.T) {
	for name, args := range valueSets(t) {
		t.Run(name, func(t *testing.T) {
			objs := Objects(t, Template(t, release, namespace, args...))
			require.NotEmpty(t, objs)
			for _, obj := range objs {
				decodeStrict(t, obj)
				if namespaced(obj) {
					assert.NotEmpty(t, obj.GetNamespace(), "%s/%s has no namespace", obj.GetKind(), obj.GetName())
				}
				assert.Equal(t, "tenancy-apiserver", obj.GetLabels()["app.kubernetes.io/name"], "%s/%s", obj.GetKind(), obj.GetName())
			}
			server := serverPod(t, objs)
			assert.Equal(t, "system-cluster-critical", server.PriorityClassName)
			assertHardened(t, server)
			c := server.Containers[0]
			assert.Equal(t, "/livez", c.LivenessProbe.HTTPGet.Path)
			assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
			assert.NotEmpty(t, c.Resources.Requests)
			assert.NotEmpty(t, server.TopologySpreadConstraints)
			for _, tsc := range server.TopologySpreadConstraints {
				assert.Equal(t, "server", tsc.LabelSelector.MatchLabels["app.kubernetes.io/component"])
			}
			if etcd := findStatefulSet(objs, release+"-etcd"); etcd != nil {
				assertHardened(t, etcd.Spec.Template.Spec)
			}
			for _, group := range []string{"config", "tenancy"} {
				api := Find(t, objs, "APIService", "v1alpha1."+group+".kiosk.sh")
				svc, _, _ := unstructured.NestedString(api.Object, "spec", "service", "name")
				assert.Equal(t, release, svc)
			}
			Find(t, objs, "PodDisruptionBudget", release)
			Find(t, objs, "ValidatingWebhookConfiguration", release+"-accountquota")
			Find(t, objs, "MutatingWebhookConfiguration", release+"-pods")
		})
	}
}

// The default, tls.mode generate: a CA and a certificate for the Service, the CA in every
// caBundle, and the server mounting the certificate.
func TestGeneratedCertificate(t *testing.T) {
	objs := Objects(t, Template(t, release, namespace))
	secret := &corev1.Secret{}
	decodeInto(t, Find(t, objs, "Secret", release+"-tls"), secret)
	assert.Equal(t, corev1.SecretTypeTLS, secret.Type)
	ca := secret.Data["ca.crt"]
	require.NotEmpty(t, ca)

	for _, bundle := range caBundles(t, objs) {
		require.NotEmpty(t, bundle.value, bundle.where)
		decoded, err := base64.StdEncoding.DecodeString(bundle.value)
		require.NoError(t, err, bundle.where)
		assert.Equal(t, string(ca), string(decoded), "%s carries the CA of the Secret", bundle.where)
	}

	pair, err := tls.X509KeyPair(secret.Data["tls.crt"], secret.Data["tls.key"])
	require.NoError(t, err, "the certificate and the key belong together")
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(ca))
	_, err = leaf.Verify(x509.VerifyOptions{DNSName: release + "." + namespace + ".svc", Roots: roots})
	assert.NoError(t, err, "kube-apiserver verifies the Service's name against the caBundle")

	pod := serverPod(t, objs)
	assert.Contains(t, pod.Containers[0].Args, "--tls-cert-file=/var/run/tenancy-apiserver/serving-cert/tls.crt")
	assert.Equal(t, release+"-tls", volume(t, pod, "serving-cert").Secret.SecretName)
}

// tls.mode certManager: a Certificate into the Secret the server mounts, and the cainjector
// annotation instead of caBundles.
func TestCertManager(t *testing.T) {
	objs := Objects(t, Template(t, release, namespace, "--values", filepath.Join(Dir(), "ci", "cert-manager-values.yaml")))
	cert := Find(t, objs, "Certificate", release)
	secretName, _, _ := unstructured.NestedString(cert.Object, "spec", "secretName")
	issuer, _, _ := unstructured.NestedString(cert.Object, "spec", "issuerRef", "name")
	dnsNames, _, _ := unstructured.NestedStringSlice(cert.Object, "spec", "dnsNames")
	assert.Contains(t, dnsNames, release+"."+namespace+".svc")
	Find(t, objs, "Issuer", issuer)
	assert.Equal(t, secretName, volume(t, serverPod(t, objs), "serving-cert").Secret.SecretName)
	for _, bundle := range caBundles(t, objs) {
		assert.Empty(t, bundle.value, bundle.where)
	}
	for _, obj := range []*unstructured.Unstructured{
		Find(t, objs, "APIService", "v1alpha1.config.kiosk.sh"),
		Find(t, objs, "APIService", "v1alpha1.tenancy.kiosk.sh"),
		Find(t, objs, "ValidatingWebhookConfiguration", release+"-accountquota"),
		Find(t, objs, "MutatingWebhookConfiguration", release+"-pods"),
	} {
		assert.Equal(t, namespace+"/"+release, obj.GetAnnotations()["cert-manager.io/inject-ca-from"], obj.GetName())
	}
	assert.Equal(t, "Ignore", webhook(t, objs)["failurePolicy"], "ci/cert-manager-values.yaml sets Ignore")

	// An issuer of one's own replaces the chart's.
	objs = Objects(t, Template(t, release, namespace, "--set", "tls.mode=certManager",
		"--set", "tls.certManager.issuerRef.name=corp-ca", "--set", "tls.certManager.issuerRef.kind=ClusterIssuer"))
	issuerKind, _, _ := unstructured.NestedString(Find(t, objs, "Certificate", release).Object, "spec", "issuerRef", "kind")
	assert.Equal(t, "ClusterIssuer", issuerKind)
	for _, obj := range objs {
		assert.NotEqual(t, "Issuer", obj.GetKind())
	}
}

// tls.mode secret: the Secret named, and the caBundle given as PEM.
func TestExistingSecret(t *testing.T) {
	const pemCA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	objs := Objects(t, Template(t, release, namespace, "--set", "tls.mode=secret",
		"--set", "tls.secret.name=my-serving-cert", "--set-string", "tls.secret.caBundle="+pemCA))
	assert.Equal(t, "my-serving-cert", volume(t, serverPod(t, objs), "serving-cert").Secret.SecretName)
	for _, bundle := range caBundles(t, objs) {
		assert.Equal(t, base64.StdEncoding.EncodeToString([]byte(pemCA)), bundle.value, bundle.where)
	}
	refused(t, "tls/secret", "--set", "tls.mode=secret")
}

// embedded storage is one StatefulSet replica on a claim, and refuses more, from the schema
// and, with schema validation skipped, from the templates.
func TestEmbeddedRefusesReplicas(t *testing.T) {
	objs := Objects(t, Template(t, release, namespace))
	sts := findStatefulSet(objs, release)
	require.NotNil(t, sts)
	assert.EqualValues(t, 1, *sts.Spec.Replicas)
	require.Len(t, sts.Spec.VolumeClaimTemplates, 1)
	assert.Contains(t, sts.Spec.Template.Spec.Containers[0].Args, "--embedded-etcd-dir=/var/lib/tenancy-apiserver/etcd")
	for _, obj := range objs {
		assert.NotEqual(t, "Deployment", obj.GetKind())
	}

	refused(t, "/replicas", "--set", "replicas=2")
	refused(t, "replicas: storage.mode embedded runs one replica", "--set", "replicas=2", "--skip-schema-validation")
}

// bundled storage: three etcd members that know each other, spread over nodes, a PDB, and
// the server's Deployment pointed at all three.
func TestBundledEtcd(t *testing.T) {
	objs := Objects(t, Template(t, release, namespace, "--values", filepath.Join(Dir(), "ci", "bundled-values.yaml")))
	etcd := findStatefulSet(objs, release+"-etcd")
	require.NotNil(t, etcd)
	assert.EqualValues(t, 3, *etcd.Spec.Replicas)
	assert.Equal(t, appsv1.ParallelPodManagement, etcd.Spec.PodManagementPolicy)
	assert.Equal(t, release+"-etcd", etcd.Spec.ServiceName)
	pod := etcd.Spec.Template.Spec
	assert.True(t, strings.HasPrefix(pod.Containers[0].Image, "quay.io/coreos/etcd:"), pod.Containers[0].Image)
	members := argValue(t, pod.Containers[0].Args, "--initial-cluster")
	var want []string
	for i := range 3 {
		want = append(want, fmt.Sprintf("%[1]s-etcd-%[2]d=https://%[1]s-etcd-%[2]d.%[1]s-etcd.%[3]s.svc:2380", release, i, namespace))
	}
	assert.Equal(t, strings.Join(want, ","), members)
	require.NotNil(t, pod.Affinity.PodAntiAffinity)
	require.Len(t, pod.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, 1)
	assert.Equal(t, "etcd", pod.Affinity.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution[0].LabelSelector.MatchLabels["app.kubernetes.io/component"])

	headless := &corev1.Service{}
	decodeInto(t, Find(t, objs, "Service", release+"-etcd"), headless)
	assert.Equal(t, corev1.ClusterIPNone, headless.Spec.ClusterIP)
	assert.True(t, headless.Spec.PublishNotReadyAddresses)
	pdb := &policyv1.PodDisruptionBudget{}
	decodeInto(t, Find(t, objs, "PodDisruptionBudget", release+"-etcd"), pdb)
	assert.Equal(t, 1, pdb.Spec.MaxUnavailable.IntValue())
	assert.Equal(t, "etcd", pdb.Spec.Selector.MatchLabels["app.kubernetes.io/component"])
	Find(t, objs, "NetworkPolicy", release+"-etcd")

	deploy := &appsv1.Deployment{}
	decodeInto(t, Find(t, objs, "Deployment", release), deploy)
	assert.EqualValues(t, 2, *deploy.Spec.Replicas)
	servers := strings.Split(argValue(t, deploy.Spec.Template.Spec.Containers[0].Args, "--etcd-servers"), ",")
	assert.Len(t, servers, 3)
	assert.Equal(t, fmt.Sprintf("https://%[1]s-etcd-0.%[1]s-etcd.%[2]s.svc:2379", release, namespace), servers[0])
	// The server's Service must not pick up the etcd members.
	service := &corev1.Service{}
	decodeInto(t, Find(t, objs, "Service", release), service)
	assert.Equal(t, "server", service.Spec.Selector["app.kubernetes.io/component"])
	assert.Equal(t, "etcd", etcd.Spec.Template.Labels["app.kubernetes.io/component"])
}

// external storage: the endpoints, and the etcd client certificate from a Secret.
func TestExternalEtcd(t *testing.T) {
	objs := Objects(t, Template(t, release, namespace, "--values", filepath.Join(Dir(), "ci", "external-values.yaml")))
	deploy := &appsv1.Deployment{}
	decodeInto(t, Find(t, objs, "Deployment", release), deploy)
	assert.EqualValues(t, 3, *deploy.Spec.Replicas)
	pod := deploy.Spec.Template.Spec
	args := pod.Containers[0].Args
	assert.Len(t, strings.Split(argValue(t, args, "--etcd-servers"), ","), 3)
	for flag, key := range map[string]string{"--etcd-cafile": "ca.crt", "--etcd-certfile": "tls.crt", "--etcd-keyfile": "tls.key"} {
		assert.Equal(t, "/var/run/tenancy-apiserver/etcd-client/"+key, argValue(t, args, flag))
	}
	assert.Equal(t, "tenancy-apiserver-etcd-client", volume(t, pod, "etcd-client").Secret.SecretName)
	assert.Nil(t, findStatefulSet(objs, release+"-etcd"))

	refused(t, "/storage/external/endpoints", "--set", "storage.mode=external")
}

// webhook.failurePolicy is what the webhook gets; nothing else is accepted. The webhook
// keeps the rules and the namespace selector of the product.
func TestWebhookFailurePolicy(t *testing.T) {
	objs := Objects(t, Template(t, release, namespace))
	hook := webhook(t, objs)
	assert.Equal(t, "Fail", hook["failurePolicy"])
	assert.EqualValues(t, 5, hook["timeoutSeconds"])
	selector, _, _ := unstructured.NestedSlice(hook, "namespaceSelector", "matchExpressions")
	assert.Equal(t, []any{map[string]any{"key": "kiosk.sh/account", "operator": "Exists"}}, selector)
	path, _, _ := unstructured.NestedString(hook, "clientConfig", "service", "path")
	assert.Equal(t, "/admission/accountquota", path)

	objs = Objects(t, Template(t, release, namespace, "--set", "webhook.failurePolicy=Ignore", "--set", "webhook.timeoutSeconds=3"))
	hook = webhook(t, objs)
	assert.Equal(t, "Ignore", hook["failurePolicy"])
	assert.EqualValues(t, 3, hook["timeoutSeconds"])

	refused(t, "/webhook/failurePolicy", "--set", "webhook.failurePolicy=Sometimes")
}

// podWebhook.failurePolicy and timeoutSeconds are what the Pod isolation webhook gets; it
// takes Pods and their ephemeral containers in Spaces only, and is sent Pods again when
// another webhook changed them.
func TestPodWebhookValues(t *testing.T) {
	objs := Objects(t, Template(t, release, namespace))
	hook := podWebhook(t, objs)
	assert.Equal(t, "Fail", hook["failurePolicy"])
	assert.EqualValues(t, 5, hook["timeoutSeconds"])
	assert.Equal(t, "IfNeeded", hook["reinvocationPolicy"])
	selector, _, _ := unstructured.NestedSlice(hook, "namespaceSelector", "matchExpressions")
	assert.Equal(t, []any{map[string]any{"key": "kiosk.sh/account", "operator": "Exists"}}, selector)
	path, _, _ := unstructured.NestedString(hook, "clientConfig", "service", "path")
	assert.Equal(t, "/admission/pods", path)
	rules, _, _ := unstructured.NestedSlice(hook, "rules")
	require.Len(t, rules, 1)
	resources, _, _ := unstructured.NestedStringSlice(rules[0].(map[string]any), "resources")
	assert.Equal(t, []string{"pods", "pods/ephemeralcontainers"}, resources)

	objs = Objects(t, Template(t, release, namespace, "--set", "podWebhook.failurePolicy=Ignore", "--set", "podWebhook.timeoutSeconds=2"))
	hook = podWebhook(t, objs)
	assert.Equal(t, "Ignore", hook["failurePolicy"])
	assert.EqualValues(t, 2, hook["timeoutSeconds"])

	refused(t, "/podWebhook/failurePolicy", "--set", "podWebhook.failurePolicy=Sometimes")
	refused(t, "/podWebhook/timeoutSeconds", "--set", "podWebhook.timeoutSeconds=31")
	for _, obj := range Objects(t, Template(t, release, namespace, "--set", "podWebhook.enabled=false")) {
		assert.NotEqual(t, "MutatingWebhookConfiguration", obj.GetKind())
	}
}

// The sleep mode activity webhook takes every write and the connections to Pods in Spaces,
// and never blocks them (failurePolicy Ignore, whatever the values); sleepMode.auditSink
// turns the audit sink on.
func TestActivityWebhookValues(t *testing.T) {
	objs := Objects(t, Template(t, release, namespace))
	hook := activityWebhook(t, objs)
	assert.Equal(t, "Ignore", hook["failurePolicy"])
	assert.Equal(t, "NoneOnDryRun", hook["sideEffects"])
	assert.EqualValues(t, 2, hook["timeoutSeconds"])
	selector, _, _ := unstructured.NestedSlice(hook, "namespaceSelector", "matchExpressions")
	assert.Equal(t, []any{map[string]any{"key": "kiosk.sh/account", "operator": "Exists"}}, selector)
	path, _, _ := unstructured.NestedString(hook, "clientConfig", "service", "path")
	assert.Equal(t, "/admission/activity", path)
	rules, _, _ := unstructured.NestedSlice(hook, "rules")
	require.Len(t, rules, 2)
	operations, _, _ := unstructured.NestedStringSlice(rules[1].(map[string]any), "operations")
	resources, _, _ := unstructured.NestedStringSlice(rules[1].(map[string]any), "resources")
	assert.Equal(t, []string{"CONNECT"}, operations)
	assert.Equal(t, []string{"pods/exec", "pods/attach", "pods/portforward"}, resources)
	assert.NotContains(t, serverPod(t, objs).Containers[0].Args, "--sleep-audit-sink", "the audit sink is off by default")

	objs = Objects(t, Template(t, release, namespace, "--set", "sleepMode.timeoutSeconds=4", "--set", "sleepMode.auditSink=true"))
	assert.EqualValues(t, 4, activityWebhook(t, objs)["timeoutSeconds"])
	assert.Contains(t, serverPod(t, objs).Containers[0].Args, "--sleep-audit-sink")
	refused(t, "/sleepMode/timeoutSeconds", "--set", "sleepMode.timeoutSeconds=31")
	for _, obj := range Objects(t, Template(t, release, namespace, "--set", "sleepMode.enabled=false")) {
		assert.NotEqual(t, release+"-activity", obj.GetName(), "%s rendered with sleepMode.enabled=false", obj.GetKind())
	}
}

// webhook.callerAuth makes the webhook answer only the named client certificate, and gives
// the server the certificate for its own webhook calls; it is off by default, since only
// those who run kube-apiserver can give it a certificate, and needs its Secret.
func TestWebhookCallerAuth(t *testing.T) {
	objs := Objects(t, Template(t, release, namespace))
	for _, obj := range objs {
		assert.NotEqual(t, release+"-webhook-caller", obj.GetName(), "%s rendered without webhook.callerAuth", obj.GetKind())
	}

	objs = Objects(t, Template(t, release, namespace, "--values", filepath.Join(Dir(), "ci", "external-values.yaml")))
	deploy := &appsv1.Deployment{}
	decodeInto(t, Find(t, objs, "Deployment", release), deploy)
	pod := deploy.Spec.Template.Spec
	args := pod.Containers[0].Args
	assert.Equal(t, "/var/run/tenancy-apiserver/webhook-caller/ca.crt", argValue(t, args, "--accountquota-webhook-client-ca-file"))
	assert.Equal(t, "tenancy-accountquota-webhook-caller", argValue(t, args, "--accountquota-webhook-client-name"))
	assert.Equal(t, "/var/run/tenancy-apiserver/webhook-caller-config/admission.yaml", argValue(t, args, "--admission-control-config-file"))
	assert.Equal(t, "tenancy-apiserver-webhook-caller", volume(t, pod, "webhook-caller").Secret.SecretName)
	config := &corev1.ConfigMap{}
	decodeInto(t, Find(t, objs, "ConfigMap", release+"-webhook-caller"), config)
	assert.Contains(t, config.Data["admission.yaml"], "kubeConfigFile: /var/run/tenancy-apiserver/webhook-caller-config/webhook.kubeconfig")
	assert.Contains(t, config.Data["webhook.kubeconfig"], "client-certificate: /var/run/tenancy-apiserver/webhook-caller/tls.crt")

	refused(t, "webhook.callerAuth.secretName: required with webhook.callerAuth.enabled", "--set", "webhook.callerAuth.enabled=true")
}

// GOMEMLIMIT comes from the server container's own memory limit through the downward API,
// next to the user's extraEnv, and goMemLimit=false leaves it out.
func TestGoMemLimit(t *testing.T) {
	env := func(args ...string) []corev1.EnvVar {
		return serverPod(t, Objects(t, Template(t, release, namespace, args...))).Containers[0].Env
	}
	got := env("--set", "extraEnv[0].name=GODEBUG", "--set", "extraEnv[0].value=madvdontneed=1")
	require.Len(t, got, 2)
	assert.Equal(t, "GOMEMLIMIT", got[0].Name)
	require.NotNil(t, got[0].ValueFrom)
	require.NotNil(t, got[0].ValueFrom.ResourceFieldRef)
	assert.Equal(t, "tenancy-apiserver", got[0].ValueFrom.ResourceFieldRef.ContainerName)
	assert.Equal(t, "limits.memory", got[0].ValueFrom.ResourceFieldRef.Resource)
	assert.Equal(t, corev1.EnvVar{Name: "GODEBUG", Value: "madvdontneed=1"}, got[1])

	assert.Empty(t, env("--set", "goMemLimit=false"))
}

// kiosk-view is bound to system:authenticated only while rbac.viewForAuthenticated is on.
func TestViewForAuthenticated(t *testing.T) {
	objs := Objects(t, Template(t, release, namespace))
	binding := Find(t, objs, "ClusterRoleBinding", "kiosk-view")
	subjects, _, _ := unstructured.NestedSlice(binding.Object, "subjects")
	assert.Equal(t, "system:authenticated", subjects[0].(map[string]any)["name"])

	objs = Objects(t, Template(t, release, namespace, "--set", "rbac.viewForAuthenticated=false"))
	Find(t, objs, "ClusterRole", "kiosk-view")
	for _, obj := range objs {
		assert.False(t, obj.GetKind() == "ClusterRoleBinding" && obj.GetName() == "kiosk-view")
	}
}

// The plain manifests are the chart rendered with hack/manifests-values.yaml: no Helm labels,
// the namespace included, the server's own certificate.
func TestManifestsValues(t *testing.T) {
	objs := Objects(t, Template(t, release, namespace, "--values", filepath.Join(Root(), "hack", "manifests-values.yaml")))
	ns := Find(t, objs, "Namespace", namespace)
	assert.Equal(t, "restricted", ns.GetLabels()["pod-security.kubernetes.io/enforce"])
	for _, obj := range objs {
		assert.NotContains(t, obj.GetLabels(), "app.kubernetes.io/managed-by", "%s/%s", obj.GetKind(), obj.GetName())
		assert.NotEqual(t, "Secret", obj.GetKind())
	}
	for _, bundle := range caBundles(t, objs) {
		assert.Empty(t, bundle.value, bundle.where)
	}
	insecure, _, _ := unstructured.NestedBool(Find(t, objs, "APIService", "v1alpha1.tenancy.kiosk.sh").Object, "spec", "insecureSkipTLSVerify")
	assert.True(t, insecure)
}

// refused renders the chart with args and wants helm to fail with want in its message.
func refused(t *testing.T, want string, args ...string) {
	t.Helper()
	_, stderr, err := Helm(t, append([]string{"template", release, Dir()}, args...)...)
	require.Error(t, err, "helm template %v", args)
	assert.Contains(t, stderr, want)
}

type caBundle struct{ where, value string }

// caBundles are the caBundle fields of both APIServices and the webhook.
func caBundles(t *testing.T, objs []*unstructured.Unstructured) []caBundle {
	var out []caBundle
	for _, group := range []string{"config", "tenancy"} {
		name := "v1alpha1." + group + ".kiosk.sh"
		value, _, _ := unstructured.NestedString(Find(t, objs, "APIService", name).Object, "spec", "caBundle")
		out = append(out, caBundle{"APIService " + name, value})
	}
	value, _, _ := unstructured.NestedString(webhook(t, objs), "clientConfig", "caBundle")
	pods, _, _ := unstructured.NestedString(podWebhook(t, objs), "clientConfig", "caBundle")
	activity, _, _ := unstructured.NestedString(activityWebhook(t, objs), "clientConfig", "caBundle")
	return append(out, caBundle{"the webhook", value}, caBundle{"the Pod isolation webhook", pods},
		caBundle{"the sleep mode activity webhook", activity})
}

func activityWebhook(t *testing.T, objs []*unstructured.Unstructured) map[string]any {
	hooks, _, _ := unstructured.NestedSlice(Find(t, objs, "ValidatingWebhookConfiguration", release+"-activity").Object, "webhooks")
	require.Len(t, hooks, 1)
	return hooks[0].(map[string]any)
}

func podWebhook(t *testing.T, objs []*unstructured.Unstructured) map[string]any {
	hooks, _, _ := unstructured.NestedSlice(Find(t, objs, "MutatingWebhookConfiguration", release+"-pods").Object, "webhooks")
	require.Len(t, hooks, 1)
	return hooks[0].(map[string]any)
}

func webhook(t *testing.T, objs []*unstructured.Unstructured) map[string]any {
	hooks, _, _ := unstructured.NestedSlice(Find(t, objs, "ValidatingWebhookConfiguration", release+"-accountquota").Object, "webhooks")
	require.Len(t, hooks, 1)
	return hooks[0].(map[string]any)
}

// serverPod is the server's Pod template, from its StatefulSet or Deployment.
func serverPod(t *testing.T, objs []*unstructured.Unstructured) corev1.PodSpec {
	if sts := findStatefulSet(objs, release); sts != nil {
		return sts.Spec.Template.Spec
	}
	deploy := &appsv1.Deployment{}
	decodeInto(t, Find(t, objs, "Deployment", release), deploy)
	return deploy.Spec.Template.Spec
}

func findStatefulSet(objs []*unstructured.Unstructured, name string) *appsv1.StatefulSet {
	for _, obj := range objs {
		if obj.GetKind() == "StatefulSet" && obj.GetName() == name {
			sts := &appsv1.StatefulSet{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, sts); err != nil {
				return nil
			}
			return sts
		}
	}
	return nil
}

func assertHardened(t *testing.T, pod corev1.PodSpec) {
	t.Helper()
	psc := pod.SecurityContext
	require.NotNil(t, psc)
	assert.True(t, *psc.RunAsNonRoot)
	assert.EqualValues(t, 65534, *psc.RunAsUser)
	assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, psc.SeccompProfile.Type)
	for _, c := range pod.Containers {
		sc := c.SecurityContext
		require.NotNil(t, sc, c.Name)
		assert.False(t, *sc.AllowPrivilegeEscalation, c.Name)
		assert.True(t, *sc.ReadOnlyRootFilesystem, c.Name)
		assert.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop, c.Name)
		assert.Empty(t, sc.Capabilities.Add, c.Name)
		assert.Nil(t, sc.Privileged, c.Name)
	}
}

func volume(t *testing.T, pod corev1.PodSpec, name string) corev1.Volume {
	for _, v := range pod.Volumes {
		if v.Name == name {
			require.NotNil(t, v.Secret, "volume %s is a Secret", name)
			return v
		}
	}
	t.Fatalf("no volume %s", name)
	return corev1.Volume{}
}

func argValue(t *testing.T, args []string, flag string) string {
	for _, arg := range args {
		if value, ok := strings.CutPrefix(arg, flag+"="); ok {
			return value
		}
	}
	t.Fatalf("no %s in %v", flag, args)
	return ""
}

// decodeStrict decodes obj into its client-go type, refusing unknown fields; kinds client-go
// does not know (APIService, cert-manager's) are left to the server-side e2e test.
func decodeStrict(t *testing.T, obj *unstructured.Unstructured) {
	typed, err := scheme.Scheme.New(obj.GroupVersionKind())
	if err != nil {
		return
	}
	raw, err := yaml.Marshal(obj.Object)
	require.NoError(t, err)
	assert.NoError(t, yaml.UnmarshalStrict(raw, typed), "%s/%s", obj.GetKind(), obj.GetName())
}

func decodeInto(t *testing.T, obj *unstructured.Unstructured, into runtime.Object) {
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, into))
}

func namespaced(obj *unstructured.Unstructured) bool {
	switch obj.GetKind() {
	case "Namespace", "ClusterRole", "ClusterRoleBinding", "APIService", "ValidatingWebhookConfiguration",
		"MutatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding":
		return false
	}
	return true
}
