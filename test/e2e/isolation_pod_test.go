package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"

	podadmission "github.com/tenancy-apiserver/tenancy-apiserver/pkg/admission/pod"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// isolationKey is the node label of the Accounts' nodes in these tests. The
// node-restriction.kubernetes.io/ prefix is what kubelets cannot set on their own node.
const isolationKey = "node-restriction.kubernetes.io/e2e-tenant"

// podIsolated is the text kube-apiserver returns when the Pod isolation webhook refuses.
func podIsolated(message string) string {
	return `admission webhook "pods.isolation.config.kiosk.sh" denied the request: ` + message
}

// isolatedTenant is an Account with node, PriorityClass and image pull isolation, its
// tenant and their Space, and the nodes and PriorityClasses around it: an own node (label and
// taint of the Account) and a foreign one (another tenant's), a class the Account allows
// (its default) and one it does not.
type isolatedTenant struct {
	account, user, space   string
	ownNode, foreignNode   string
	ownClass, foreignClass string
	tenant                 framework.Kubectl
}

func newIsolatedTenant(t *testing.T, prefix string) isolatedTenant {
	t.Helper()
	it := isolatedTenant{account: framework.UniqueName(prefix), user: framework.UniqueName(prefix + "-dev")}
	it.space, it.tenant = it.account+"-space", cluster.As(it.user)
	it.ownNode, it.foreignNode = it.account+"-own", it.account+"-foreign"
	it.ownClass, it.foreignClass = it.account+"-low", it.account+"-high"
	admin := cluster.Admin()
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", it.space, "--ignore-not-found", "--wait=false").Deleted(t)
		admin.Run(t, "delete", "accounts.config.kiosk.sh", it.account, "--ignore-not-found").Deleted(t)
		admin.Run(t, "delete", "node", it.ownNode, it.foreignNode, "--ignore-not-found").Deleted(t)
		admin.Run(t, "delete", "priorityclass", it.ownClass, it.foreignClass, "--ignore-not-found").Deleted(t)
	})
	// Nodes without a kubelet: objects the scheduler and the webhook see, nothing runs.
	node := func(name, tenant string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: Node\nmetadata:\n  name: %s\n  labels:\n    %s: %s\nspec:\n  taints:\n  - key: e2e-tenant\n    value: %s\n    effect: NoSchedule\n",
			name, isolationKey, tenant, tenant)
	}
	class := func(name string, value int) string {
		return fmt.Sprintf("apiVersion: scheduling.k8s.io/v1\nkind: PriorityClass\nmetadata:\n  name: %s\nvalue: %d\n", name, value)
	}
	admin.Apply(t, node(it.ownNode, it.account)+"---\n"+node(it.foreignNode, "other")+"---\n"+
		class(it.ownClass, 10)+"---\n"+class(it.foreignClass, 1000)).Success(t)
	account := accountYAML(it.account, it.user, "") + fmt.Sprintf(`  isolation:
    nodes:
      nodeSelector:
        %s: %s
      tolerations:
      - key: e2e-tenant
        operator: Equal
        value: %s
        effect: NoSchedule
    priorityClasses:
      allowed: [%s]
      default: %s
    alwaysPullImages: true
`, isolationKey, it.account, it.account, it.ownClass, it.ownClass)
	out := admin.Apply(t, account).Success(t)
	assert.NotContains(t, out.Stderr, "not yet enforced", "nodes, priorityClasses and alwaysPullImages are enforced")
	grantKioskEdit(t, cluster.AdminClients(t), it.account, it.user)
	it.tenant.Apply(t, space(it.space, it.account)).Success(t)
	eventually(t, "the tenant may create Pods in the Space", func(context.Context) bool {
		return it.tenant.Run(t, "auth", "can-i", "create", "pods", "-n", it.space).Err == nil
	})
	return it
}

// isoPodYAML is a Pod named name in namespace with an init container and a container, and
// spec (YAML indented under spec) added.
func isoPodYAML(name, namespace, spec string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  namespace: %s
spec:
  initContainers:
  - name: init
    image: busybox
    imagePullPolicy: IfNotPresent
  containers:
  - name: app
    image: nginx
    imagePullPolicy: IfNotPresent
%s`, name, namespace, spec)
}

// deploymentYAML is a Deployment named name in namespace of replicas Pods labelled
// app=name, whose Pod spec is podSpec (YAML indented under spec.template.spec).
func deploymentYAML(name, namespace string, replicas int, podSpec string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
  namespace: %[2]s
spec:
  replicas: %[3]d
  selector:
    matchLabels:
      app: %[1]s
  template:
    metadata:
      labels:
        app: %[1]s
    spec:
%[4]s`, name, namespace, replicas, podSpec)
}

func getPod(t *testing.T, k framework.Kubectl, namespace, name string) *corev1.Pod {
	t.Helper()
	out := k.Run(t, "get", "pod", name, "-n", namespace, "-o", "json").Success(t).Stdout
	pod := &corev1.Pod{}
	require.NoError(t, json.Unmarshal([]byte(out), pod))
	return pod
}

// assertIsolated checks that pod carries what the Account's isolation adds.
func (it isolatedTenant) assertIsolated(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	assert.Equal(t, it.account, pod.Spec.NodeSelector[isolationKey], "nodeSelector of %s", pod.Name)
	assert.Contains(t, pod.Spec.Tolerations, corev1.Toleration{Key: "e2e-tenant", Operator: corev1.TolerationOpEqual,
		Value: it.account, Effect: corev1.TaintEffectNoSchedule}, "tolerations of %s", pod.Name)
	assert.Equal(t, it.ownClass, pod.Spec.PriorityClassName, "priorityClassName of %s", pod.Name)
	if assert.NotNil(t, pod.Spec.Priority, "priority of %s", pod.Name) {
		assert.Equal(t, int32(10), *pod.Spec.Priority, "priority of %s: the default class's value", pod.Name)
	}
	for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		assert.Equal(t, corev1.PullAlways, c.ImagePullPolicy, "imagePullPolicy of %s/%s", pod.Name, c.Name)
	}
}

// A tenant's Pods that would leave the Account's nodes or PriorityClasses are refused, each
// with a message naming the field; through the Pod's create, and through the updates
// Kubernetes allows on a Pod.
func TestPodIsolationRefusesEscapes(t *testing.T) {
	it := newIsolatedTenant(t, "iso-refuse")
	termPath := "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]"
	for _, tc := range []struct {
		name, spec, message string
	}{
		{"foreign node selector", "  nodeSelector:\n    " + isolationKey + ": other\n",
			"spec.nodeSelector[" + isolationKey + `]: Forbidden: is "other", but the Pods of account ` + it.account +
				" run only on nodes with " + isolationKey + "=" + it.account},
		{"foreign affinity", "  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n        nodeSelectorTerms:\n" +
			"        - matchExpressions:\n          - key: " + isolationKey + "\n            operator: In\n            values: [other]\n",
			termPath + ".matchExpressions[0]: Forbidden: " + isolationKey + " In [other] excludes the nodes of account " + it.account},
		{"affinity on the foreign node's name", "  affinity:\n    nodeAffinity:\n      requiredDuringSchedulingIgnoredDuringExecution:\n        nodeSelectorTerms:\n" +
			"        - matchFields:\n          - key: metadata.name\n            operator: In\n            values: [" + it.foreignNode + "]\n",
			termPath + ".matchFields[0].values[0]: Forbidden: node \"" + it.foreignNode + "\" is not one of the nodes of account " + it.account},
		{"foreign toleration", "  tolerations:\n  - key: e2e-tenant\n    operator: Equal\n    value: other\n    effect: NoSchedule\n",
			"spec.tolerations[0]: Forbidden: the toleration of e2e-tenant=other (NoSchedule) tolerates taints that the Pods of account " + it.account + " may not tolerate"},
		{"toleration of every taint", "  tolerations:\n  - operator: Exists\n",
			"spec.tolerations[0]: Forbidden: the toleration of every key (every effect)"},
		{"foreign nodeName", "  nodeName: " + it.foreignNode + "\n",
			"spec.nodeName: Forbidden: node \"" + it.foreignNode + "\" is not one of the nodes of account " + it.account + ": it does not carry " + isolationKey + "=" + it.account},
		{"nodeName of no node", "  nodeName: " + it.account + "-nowhere\n",
			"spec.nodeName: Forbidden: node \"" + it.account + "-nowhere\" does not exist"},
		{"foreign PriorityClass", "  priorityClassName: " + it.foreignClass + "\n",
			`spec.priorityClassName: Forbidden: PriorityClass "` + it.foreignClass + `" is not allowed for the Pods of account ` + it.account},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := framework.UniqueName("escape")
			out := it.tenant.Apply(t, isoPodYAML(name, it.space, tc.spec)).Failure(t)
			assert.Contains(t, out.Stderr, podIsolated(tc.message))
			it.tenant.Run(t, "get", "pod", name, "-n", it.space).Failure(t)
			// A server-side dry run is decided the same way.
			out = it.tenant.Apply(t, isoPodYAML(name, it.space, tc.spec), "--dry-run=server").Failure(t)
			assert.Contains(t, out.Stderr, podIsolated(tc.message))
		})
	}

	t.Run("a Deployment's Pods", func(t *testing.T) {
		// The ReplicaSet controller creates them, and is refused as the tenant would be.
		it.tenant.Apply(t, deploymentYAML("escape", it.space, 1, `      nodeSelector:
        `+isolationKey+`: other
      containers:
      - name: app
        image: nginx
`)).Success(t)
		want := podIsolated("spec.nodeSelector[" + isolationKey + `]: Forbidden: is "other"`)
		eventually(t, "the ReplicaSet controller is refused, naming the field", func(context.Context) bool {
			out := it.tenant.Run(t, "get", "events", "-n", it.space, "--field-selector", "reason=FailedCreate", "-o", "jsonpath={.items[*].message}")
			return out.Err == nil && strings.Contains(out.Stdout, want)
		})
		assert.Empty(t, it.tenant.Run(t, "get", "pods", "-n", it.space, "-l", "app=escape", "-o", "name").Success(t).Stdout)
	})

	t.Run("tolerations gained by patch", func(t *testing.T) {
		name := framework.UniqueName("patched")
		it.tenant.Apply(t, isoPodYAML(name, it.space, "")).Success(t)
		n := len(getPod(t, it.tenant, it.space, name).Spec.Tolerations)
		out := it.tenant.Run(t, "patch", "pod", name, "-n", it.space, "--type=json", "-p",
			`[{"op":"add","path":"/spec/tolerations/-","value":{"key":"e2e-tenant","operator":"Equal","value":"other","effect":"NoSchedule"}}]`).Failure(t)
		assert.Contains(t, out.Stderr, podIsolated(fmt.Sprintf("spec.tolerations[%d]: Forbidden", n)))
		// Apply, and replace of the whole Pod, go through the same door.
		pod := getPod(t, it.tenant, it.space, name)
		pod.Spec.Tolerations = append(pod.Spec.Tolerations, corev1.Toleration{Operator: corev1.TolerationOpExists})
		raw, err := json.Marshal(pod)
		require.NoError(t, err)
		out = it.tenant.RunWithInput(t, string(raw), "replace", "-f", "-").Failure(t)
		assert.Contains(t, out.Stderr, podIsolated(fmt.Sprintf("spec.tolerations[%d]: Forbidden", n)))
		// The Account's own toleration may be repeated.
		it.tenant.Run(t, "patch", "pod", name, "-n", it.space, "--type=json", "-p",
			`[{"op":"add","path":"/spec/tolerations/-","value":{"key":"e2e-tenant","operator":"Equal","value":"`+it.account+`","effect":"NoSchedule","tolerationSeconds":null}}]`).Success(t)
	})

	t.Run("node selector removed by patch", func(t *testing.T) {
		name := framework.UniqueName("unselect")
		it.tenant.Apply(t, isoPodYAML(name, it.space, "")).Success(t)
		it.tenant.Run(t, "patch", "pod", name, "-n", it.space, "--type=json", "-p",
			`[{"op":"remove","path":"/spec/nodeSelector"}]`).Failure(t)
		assert.Equal(t, it.account, getPod(t, it.tenant, it.space, name).Spec.NodeSelector[isolationKey])
	})
}

// A bare Pod and the Pods of a Deployment (created by the ReplicaSet controller, not the
// tenant) carry the Account's node selector, toleration, default PriorityClass and
// imagePullPolicy Always; a Pod on the Account's own node, naming it, is admitted; a debug
// container added later pulls always.
func TestPodIsolationInjects(t *testing.T) {
	it := newIsolatedTenant(t, "iso-inject")
	it.tenant.Apply(t, isoPodYAML("bare", it.space, "")).Success(t)
	it.assertIsolated(t, getPod(t, it.tenant, it.space, "bare"))

	it.tenant.Apply(t, deploymentYAML("web", it.space, 2, `      containers:
      - name: web
        image: nginx
        imagePullPolicy: IfNotPresent
`)).Success(t)
	var pods corev1.PodList
	eventually(t, "the Deployment's two Pods exist", func(context.Context) bool {
		out := it.tenant.Run(t, "get", "pods", "-n", it.space, "-l", "app=web", "-o", "json")
		return out.Err == nil && json.Unmarshal([]byte(out.Stdout), &pods) == nil && len(pods.Items) == 2
	})
	for i := range pods.Items {
		it.assertIsolated(t, &pods.Items[i])
	}

	it.tenant.Apply(t, isoPodYAML("on-own-node", it.space, "  nodeName: "+it.ownNode+"\n")).Success(t)
	assert.Equal(t, it.ownNode, getPod(t, it.tenant, it.space, "on-own-node").Spec.NodeName)

	// An ephemeral container (pods/ephemeralcontainers, which the shipped roles give admins
	// only) pulls its image always too: admins are held to the Account in its Spaces.
	cluster.Admin().Run(t, "debug", "bare", "-n", it.space, "--image=busybox", "--image-pull-policy=IfNotPresent", "-c", "debugger").Success(t)
	debugged := getPod(t, it.tenant, it.space, "bare")
	require.Len(t, debugged.Spec.EphemeralContainers, 1)
	assert.Equal(t, corev1.PullAlways, debugged.Spec.EphemeralContainers[0].ImagePullPolicy)
}

// Admins are not held back outside Spaces: their Pods there are never sent to the webhook.
// The server's own Pods (a Template's, applied with its identity) are admitted as written,
// in a Space too.
func TestPodIsolationLeavesAdminsAndTheServer(t *testing.T) {
	it := newIsolatedTenant(t, "iso-admin")
	admin := cluster.Admin()
	outside := it.account + "-outside"
	tmpl, role := it.account+"-pod", it.account+"-pods"
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", outside, "--ignore-not-found", "--wait=false").Deleted(t)
		admin.Run(t, "delete", "template", tmpl, "--ignore-not-found").Deleted(t)
		admin.Run(t, "delete", "clusterrole", role, "--ignore-not-found").Deleted(t)
	})
	admin.Run(t, "create", "namespace", outside).Success(t)
	foreign := "  nodeSelector:\n    " + isolationKey + ": other\n  tolerations:\n  - operator: Exists\n  priorityClassName: " + it.foreignClass + "\n"
	admin.Apply(t, isoPodYAML("anywhere", outside, foreign)).Success(t)
	pod := getPod(t, admin, outside, "anywhere")
	assert.Equal(t, "other", pod.Spec.NodeSelector[isolationKey])
	assert.Equal(t, it.foreignClass, pod.Spec.PriorityClassName)
	assert.Equal(t, corev1.PullIfNotPresent, pod.Spec.Containers[0].ImagePullPolicy)

	// The server may apply Pods from Templates once an admin allows the kind.
	admin.Apply(t, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: `+role+`
  labels:
    rbac.kiosk.sh/aggregate-to-tenancy-apiserver-templates: "true"
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [create, patch, delete]
`).Success(t)
	admin.Apply(t, `apiVersion: config.kiosk.sh/v1alpha1
kind: Template
metadata:
  name: `+tmpl+`
resources:
  manifests:
  - apiVersion: v1
    kind: Pod
    metadata:
      name: from-template
    spec:
      containers:
      - name: app
        image: nginx
        imagePullPolicy: IfNotPresent
      nodeSelector:
        `+isolationKey+`: other
      tolerations:
      - operator: Exists
      priorityClassName: `+it.foreignClass+`
`).Success(t)
	eventually(t, "the server may create Pods for Templates", func(context.Context) bool {
		return admin.Run(t, "auth", "can-i", "create", "pods", "-n", it.space, "--as=system:serviceaccount:tenancy-system:tenancy-apiserver").Err == nil
	})
	admin.Apply(t, "apiVersion: config.kiosk.sh/v1alpha1\nkind: TemplateInstance\nmetadata:\n  name: pod\n  namespace: "+it.space+"\nspec:\n  template: "+tmpl+"\n").Success(t)
	instanceStatus(t, it.space, "pod", configv1alpha1.TemplateInstanceStatusDeployed)
	pod = getPod(t, admin, it.space, "from-template")
	assert.Equal(t, "other", pod.Spec.NodeSelector[isolationKey], "the server's Pod is admitted as the Template wrote it")
	assert.Equal(t, it.foreignClass, pod.Spec.PriorityClassName)
}

// While no replica answers, Pods in Spaces are refused under failurePolicy Fail, naming the
// webhook; the rest of the cluster is unaffected. Under Ignore they are admitted as they are.
func TestPodIsolationWhileTheServerIsDown(t *testing.T) {
	it := newIsolatedTenant(t, "iso-down")
	admin := cluster.Admin()
	outside := it.account + "-outside"
	t.Cleanup(func() { admin.Run(t, "delete", "namespace", outside, "--ignore-not-found", "--wait=false").Deleted(t) })
	admin.Run(t, "create", "namespace", outside).Success(t)
	setPolicy := func(policy string) {
		patch := `[{"op":"replace","path":"/webhooks/0/failurePolicy","value":"` + policy + `"}]`
		admin.Run(t, "patch", "mutatingwebhookconfiguration", "tenancy-apiserver-pods", "--type=json", "-p", patch).Success(t)
		admin.Run(t, "patch", "validatingwebhookconfiguration", "tenancy-apiserver-accountquota", "--type=json", "-p", patch).Success(t)
	}
	replica := cluster.Replica(0)
	stopped := true
	t.Cleanup(func() {
		setPolicy("Fail")
		if stopped {
			replica.Start(t)
			servesAgain(t, it.account)
		}
	})
	replica.Stop(t)

	out := it.tenant.Apply(t, isoPodYAML("while-down", it.space, "")).Failure(t)
	assert.Contains(t, out.Stderr, `failed calling webhook "pods.isolation.config.kiosk.sh"`)
	admin.Apply(t, isoPodYAML("outside", outside, "")).Success(t)

	setPolicy("Ignore")
	it.tenant.Apply(t, isoPodYAML("while-down", it.space, "")).Success(t)
	pod := getPod(t, it.tenant, it.space, "while-down")
	assert.Empty(t, pod.Spec.NodeSelector, "failurePolicy Ignore admits the Pod as it is")
	setPolicy("Fail")

	replica.Start(t)
	stopped = false
	servesAgain(t, it.account)
	eventually(t, "Pods are isolated again", func(context.Context) bool {
		return it.tenant.Apply(t, isoPodYAML("after", it.space, "")).Err == nil
	})
	it.assertIsolated(t, getPod(t, it.tenant, it.space, "after"))
}

// servesAgain waits until kube-apiserver serves config.kiosk.sh from the restarted server.
func servesAgain(t *testing.T, account string) {
	t.Helper()
	eventually(t, "kube-apiserver serves config.kiosk.sh again", func(context.Context) bool {
		return cluster.Admin().Run(t, "get", "accounts.config.kiosk.sh", account).Err == nil
	})
}

// Only kube-apiserver, with the client certificate its admission configuration gives it, is
// answered by the Pod isolation webhook; anyone else who reaches the port is refused before
// anything is decided, with a certificate or without.
func TestPodIsolationWebhookAnswersOnlyKubeAPIServer(t *testing.T) {
	it := newIsolatedTenant(t, "iso-caller")
	review := []byte(fmt.Sprintf(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"probe",
"kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},
"namespace":%q,"operation":"CREATE","userInfo":{"username":%q},"object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"probe"},
"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}`, it.space, it.user))
	code, body := postReviewAt(t, webhookClient(t, ""), podadmission.Path, review)
	assert.Equal(t, http.StatusUnauthorized, code, body)
	assert.Contains(t, body, "the Pod isolation webhook needs a client certificate")
	code, body = postReviewAt(t, webhookClient(t, "admin"), podadmission.Path, review)
	assert.Equal(t, http.StatusForbidden, code, body)
	assert.Contains(t, body, `"kubernetes-admin" may not call the Pod isolation webhook`)
	// kube-apiserver's own certificate is answered, with the Account's patch.
	code, body = postReviewAt(t, webhookClient(t, "accountquota-webhook-client"), podadmission.Path, review)
	require.Equal(t, http.StatusOK, code, body)
	out := &admissionv1.AdmissionReview{}
	require.NoError(t, json.Unmarshal([]byte(body), out))
	require.NotNil(t, out.Response)
	assert.True(t, out.Response.Allowed)
	assert.Contains(t, string(out.Response.Patch), isolationKey)
	// Methods other than POST are not served.
	resp, err := webhookClient(t, "accountquota-webhook-client").Get(cluster.Replica(0).URL + podadmission.Path)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}
