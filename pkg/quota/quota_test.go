package quota

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/utils/ptr"
)

var pods = schema.GroupResource{Resource: "pods"}

func list(pairs ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i+1 < len(pairs); i += 2 {
		out[corev1.ResourceName(pairs[i])] = resource.MustParse(pairs[i+1])
	}
	return out
}

func container(name string, requests, limits corev1.ResourceList) corev1.Container {
	return corev1.Container{Name: name, Resources: corev1.ResourceRequirements{Requests: requests, Limits: limits}}
}

func unstructuredOf(t *testing.T, obj runtime.Object) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	require.NoError(t, err)
	return &unstructured.Unstructured{Object: m}
}

func assertList(t *testing.T, want, got corev1.ResourceList, msg string) {
	t.Helper()
	assert.Len(t, got, len(want), msg+": %v", got)
	for name, q := range want {
		g, ok := got[name]
		assert.True(t, ok, "%s: %s missing", msg, name)
		assert.Zero(t, q.Cmp(g), "%s: %s is %s, want %s", msg, name, g.String(), q.String())
	}
}

// assertDecodedUsage checks that the object read from its JSON, as the webhook reads it,
// charges the same as read from the API.
func assertDecodedUsage(t *testing.T, gr schema.GroupResource, obj *unstructured.Unstructured, want corev1.ResourceList) {
	t.Helper()
	raw, err := obj.MarshalJSON()
	require.NoError(t, err)
	o, err := Decode(gr, raw)
	require.NoError(t, err)
	assertList(t, want, o.Usage(), "decoded from JSON")
	assert.Equal(t, obj.GetName(), o.Name)
}

func TestDecodeNamesWhatItCannotRead(t *testing.T) {
	_, err := Decode(pods, []byte(`{"spec":{"containers":"none"}}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "reading pods")
	_, err = Decode(schema.GroupResource{Group: "apps", Resource: "deployments"}, []byte(`[`))
	assert.Error(t, err)
}

func TestPodUsage(t *testing.T) {
	always := corev1.ContainerRestartPolicyAlways
	sidecar := container("sidecar", list("cpu", "100m", "memory", "64Mi"), list("cpu", "200m"))
	sidecar.RestartPolicy = &always
	tests := []struct {
		name string
		pod  corev1.Pod
		want corev1.ResourceList
	}{
		{"containers add up", corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{
			container("a", list("cpu", "250m", "memory", "1Gi"), list("cpu", "1", "memory", "2Gi")),
			container("b", list("cpu", "250m"), list("cpu", "500m")),
		}}}, list("pods", "1", "count/pods", "1", "cpu", "500m", "requests.cpu", "500m", "memory", "1Gi",
			"requests.memory", "1Gi", "limits.cpu", "1500m", "limits.memory", "2Gi")},
		{"an init container counts when it is the largest", corev1.Pod{Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{container("init", list("cpu", "2"), nil)},
			Containers:     []corev1.Container{container("a", list("cpu", "1"), nil)},
		}}, list("pods", "1", "count/pods", "1", "cpu", "2", "requests.cpu", "2")},
		{"sidecars run alongside", corev1.Pod{Spec: corev1.PodSpec{
			InitContainers: []corev1.Container{sidecar},
			Containers:     []corev1.Container{container("a", list("cpu", "1"), list("cpu", "1"))},
		}}, list("pods", "1", "count/pods", "1", "cpu", "1100m", "requests.cpu", "1100m", "memory", "64Mi",
			"requests.memory", "64Mi", "limits.cpu", "1200m")},
		{"overhead", corev1.Pod{Spec: corev1.PodSpec{Overhead: list("cpu", "100m"),
			Containers: []corev1.Container{container("a", list("cpu", "1"), nil)},
		}}, list("pods", "1", "count/pods", "1", "cpu", "1100m", "requests.cpu", "1100m")},
		{"extended resources and hugepages", corev1.Pod{Spec: corev1.PodSpec{
			Containers: []corev1.Container{container("a", list("nvidia.com/gpu", "2", "hugepages-2Mi", "4Mi"), list("nvidia.com/gpu", "2", "hugepages-2Mi", "4Mi"))},
		}}, list("pods", "1", "count/pods", "1", "requests.nvidia.com/gpu", "2", "requests.hugepages-2Mi", "4Mi")},
		{"what quota does not read is skipped", corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: map[string]string{"app": "web"},
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}}},
			Spec: corev1.PodSpec{
				Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				Containers: []corev1.Container{{Name: "a", Image: "nginx", Env: []corev1.EnvVar{{Name: "A", Value: "1"}},
					VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/data"}},
					Resources:    corev1.ResourceRequirements{Requests: list("cpu", "1")}}},
			},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1"},
		}, list("pods", "1", "count/pods", "1", "cpu", "1", "requests.cpu", "1")},
		{"pod-level resources", corev1.Pod{Spec: corev1.PodSpec{
			Resources:  &corev1.ResourceRequirements{Requests: list("cpu", "2"), Limits: list("cpu", "3")},
			Containers: []corev1.Container{container("a", list("cpu", "1"), nil)},
		}}, list("pods", "1", "count/pods", "1", "cpu", "2", "requests.cpu", "2", "limits.cpu", "3")},
		{"a finished pod charges nothing", corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{container("a", list("cpu", "1"), nil)}},
			Status: corev1.PodStatus{Phase: corev1.PodSucceeded}}, list()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := usageOf(pods, unstructuredOf(t, &tt.pod))
			require.NoError(t, err)
			assertList(t, tt.want, got, tt.name)
			assertDecodedUsage(t, pods, unstructuredOf(t, &tt.pod), tt.want)
		})
	}
}

func TestObjectUsage(t *testing.T) {
	lb := &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}, {Port: 443}}}}
	np := &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Port: 80}}}}
	cip := &corev1.Service{Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
	pvc := &corev1.PersistentVolumeClaim{Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: ptr.To("fast"),
		Resources: corev1.VolumeResourceRequirements{Requests: list("storage", "10Gi")}}}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "c"}}
	deploy := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "d"}}}
	tests := []struct {
		name string
		gr   schema.GroupResource
		obj  *unstructured.Unstructured
		want corev1.ResourceList
	}{
		{"load balancer", schema.GroupResource{Resource: "services"}, unstructuredOf(t, lb),
			list("count/services", "1", "services", "1", "services.loadbalancers", "1", "services.nodeports", "2")},
		{"node port", schema.GroupResource{Resource: "services"}, unstructuredOf(t, np),
			list("count/services", "1", "services", "1", "services.nodeports", "1")},
		{"cluster IP", schema.GroupResource{Resource: "services"}, unstructuredOf(t, cip), list("count/services", "1", "services", "1")},
		{"claim", schema.GroupResource{Resource: "persistentvolumeclaims"}, unstructuredOf(t, pvc),
			list("count/persistentvolumeclaims", "1", "persistentvolumeclaims", "1", "requests.storage", "10Gi",
				"fast.storageclass.storage.k8s.io/requests.storage", "10Gi", "fast.storageclass.storage.k8s.io/persistentvolumeclaims", "1")},
		{"config map", schema.GroupResource{Resource: "configmaps"}, unstructuredOf(t, cm), list("count/configmaps", "1", "configmaps", "1")},
		{"deployment", schema.GroupResource{Group: "apps", Resource: "deployments"}, deploy, list("count/deployments.apps", "1")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := usageOf(tt.gr, tt.obj)
			require.NoError(t, err)
			assertList(t, tt.want, got, tt.name)
			assertDecodedUsage(t, tt.gr, tt.obj, tt.want)
		})
	}
}

func TestAdmit(t *testing.T) {
	pod := func(requests, limits corev1.ResourceList) *unstructured.Unstructured {
		return unstructuredOf(t, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{container("nginx", requests, limits)}}})
	}
	walkthrough := Quota{Name: "default-user-limits", Spec: corev1.ResourceQuotaSpec{Hard: list("pods", "2", "limits.cpu", "4")},
		Used: list("pods", "2", "limits.cpu", "2")}

	_, err := admit([]Quota{walkthrough}, pods, pod(list("cpu", "1"), list("cpu", "1")), nil)
	var qerr *Error
	require.True(t, errors.As(err, &qerr))
	assert.Equal(t, "exceeded quota: default-user-limits, requested: pods=1, used: pods=2, limited: pods=2", err.Error())

	_, err = admit([]Quota{walkthrough}, pods, pod(list("cpu", "1"), nil), nil)
	assert.EqualError(t, err, "failed quota: default-user-limits: must specify limits.cpu for: nginx")

	room := walkthrough
	room.Used = list("pods", "1", "limits.cpu", "1")
	out, err := admit([]Quota{room}, pods, pod(list("cpu", "1"), list("cpu", "2")), nil)
	require.NoError(t, err)
	assertList(t, list("pods", "2", "limits.cpu", "3"), out[0], "charged")

	_, err = admit([]Quota{room}, pods, pod(list("cpu", "1"), list("cpu", "4")), nil)
	assert.EqualError(t, err, "exceeded quota: default-user-limits, requested: limits.cpu=4, used: limits.cpu=1, limited: limits.cpu=4")

	// Several quotas: all enforced, the uncovered one untouched.
	counts := Quota{Name: "counts", Spec: corev1.ResourceQuotaSpec{Hard: list("count/configmaps", "1")}, Used: list("count/configmaps", "0")}
	bestEffort := Quota{Name: "best-effort", Spec: corev1.ResourceQuotaSpec{Hard: list("pods", "1"), Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}}}
	out, err = admit([]Quota{room, counts, bestEffort}, pods, pod(list("cpu", "1"), list("cpu", "1")), nil)
	require.NoError(t, err)
	assert.NotNil(t, out[0])
	assert.Nil(t, out[1], "a configmap count does not change for a pod")
	assert.Nil(t, out[2], "a BestEffort quota does not cover a pod with requests")
	_, err = admit([]Quota{bestEffort, {Name: "b", Spec: corev1.ResourceQuotaSpec{Hard: list("pods", "0")}}}, pods, pod(nil, nil), nil)
	assert.EqualError(t, err, "exceeded quota: b, requested: pods=1, used: pods=0, limited: pods=0")

	// Updates charge the difference only.
	svc := func(typ corev1.ServiceType) *unstructured.Unstructured {
		return unstructuredOf(t, &corev1.Service{Spec: corev1.ServiceSpec{Type: typ, Ports: []corev1.ServicePort{{Port: 80}}}})
	}
	lbs := Quota{Name: "lbs", Spec: corev1.ResourceQuotaSpec{Hard: list("services", "5", "services.loadbalancers", "1")}, Used: list("services", "1", "services.loadbalancers", "1")}
	_, err = admit([]Quota{lbs}, schema.GroupResource{Resource: "services"}, svc(corev1.ServiceTypeLoadBalancer), svc(corev1.ServiceTypeClusterIP))
	assert.EqualError(t, err, "exceeded quota: lbs, requested: services.loadbalancers=1, used: services.loadbalancers=1, limited: services.loadbalancers=1")
	out, err = admit([]Quota{lbs}, schema.GroupResource{Resource: "services"}, svc(corev1.ServiceTypeClusterIP), svc(corev1.ServiceTypeClusterIP))
	require.NoError(t, err)
	assert.Nil(t, out[0], "an update that changes nothing charges nothing")
}

func TestCoversScopes(t *testing.T) {
	deadline := &corev1.Pod{Spec: corev1.PodSpec{ActiveDeadlineSeconds: ptr.To[int64](60), PriorityClassName: "high",
		Containers: []corev1.Container{container("a", list("cpu", "1"), nil)},
		Affinity: &corev1.Affinity{PodAffinity: &corev1.PodAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{
			{TopologyKey: "zone", Namespaces: []string{"other"}}}}}}}
	tests := []struct {
		name string
		spec corev1.ResourceQuotaSpec
		want bool
	}{
		{"no scope", corev1.ResourceQuotaSpec{}, true},
		{"terminating", corev1.ResourceQuotaSpec{Scopes: []corev1.ResourceQuotaScope{"Terminating"}}, true},
		{"not terminating", corev1.ResourceQuotaSpec{Scopes: []corev1.ResourceQuotaScope{"NotTerminating"}}, false},
		{"not best effort", corev1.ResourceQuotaSpec{Scopes: []corev1.ResourceQuotaScope{"NotBestEffort"}}, true},
		{"priority in", corev1.ResourceQuotaSpec{ScopeSelector: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
			{ScopeName: "PriorityClass", Operator: "In", Values: []string{"high"}}}}}, true},
		{"cross-namespace affinity", corev1.ResourceQuotaSpec{ScopeSelector: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
			{ScopeName: "CrossNamespacePodAffinity", Operator: "Exists"}}}}, true},
		{"best effort", corev1.ResourceQuotaSpec{Scopes: []corev1.ResourceQuotaScope{"BestEffort"}}, false},
		{"priority not in", corev1.ResourceQuotaSpec{ScopeSelector: &corev1.ScopeSelector{MatchExpressions: []corev1.ScopedResourceSelectorRequirement{
			{ScopeName: "PriorityClass", Operator: "NotIn", Values: []string{"high"}}}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := covers(tt.spec, pods, unstructuredOf(t, deadline))
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	got, err := covers(corev1.ResourceQuotaSpec{Scopes: []corev1.ResourceQuotaScope{"BestEffort"}}, schema.GroupResource{Resource: "configmaps"},
		unstructuredOf(t, &corev1.ConfigMap{}))
	require.NoError(t, err)
	assert.False(t, got, "scoped quotas cover pods only")
}
