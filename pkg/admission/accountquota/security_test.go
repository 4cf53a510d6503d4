package accountquota_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/registrytest"
)

// updateReview is the AdmissionReview kube-apiserver sends for updating old to obj in
// namespace, through subresource when it is not empty.
func updateReview(tb testing.TB, namespace, subresource string, old, obj runtime.Object) []byte {
	tb.Helper()
	encode := func(o runtime.Object) []byte {
		raw, err := json.Marshal(o)
		require.NoError(tb, err)
		return raw
	}
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: "update", Namespace: namespace, Operation: admissionv1.Update, SubResource: subresource,
			Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Object:    runtime.RawExtension{Raw: encode(obj)},
			OldObject: runtime.RawExtension{Raw: encode(old)},
		}})
	require.NoError(tb, err)
	return body
}

func withPhase(p *corev1.Pod, phase corev1.PodPhase) *corev1.Pod {
	p.Status.Phase = phase
	return p
}

// A resize through pods/resize is charged as an update of the Pod: what it adds must fit.
func TestResizeIsChargedAsAnUpdate(t *testing.T) {
	f := newFixture(t, registrytest.RESTOptions(t, "accountquotas"), 1, accountQuota("cpu", "limits.cpu", "2"))
	h := f.replicas[0]
	resp, _ := send(t, h, review(t, "team-a", pod("web", "1"), false))
	require.True(t, resp.Allowed, "%v", resp.Result)

	resp, _ = send(t, h, updateReview(t, "team-a", "resize", pod("web", "1"), pod("web", "3")))
	require.False(t, resp.Allowed, "a resize past the quota was admitted")
	assert.Equal(t, int32(403), resp.Result.Code)
	assert.Equal(t, "exceeded quota: cpu, requested: limits.cpu=2, used: limits.cpu=1, limited: limits.cpu=2", resp.Result.Message)

	resp, _ = send(t, h, updateReview(t, "team-a", "resize", pod("web", "1"), pod("web", "2")))
	require.True(t, resp.Allowed, "%v", resp.Result)
	cpu := f.quota(t, "cpu").Status.Total.Used[corev1.ResourceLimitsCPU]
	assert.Equal(t, "2", cpu.String())

	// Ephemeral containers carry no resources: the subresource is not charged.
	resp, _ = send(t, h, updateReview(t, "team-a", "ephemeralcontainers", pod("web", "2"), pod("web", "2")))
	assert.True(t, resp.Allowed, "%v", resp.Result)
}

// An UPDATE review, sent once or replayed any number of times, never lowers usage: a Pod
// that finished, or asks for less, is given back by the recount only.
func TestReplayedUpdatesNeverLowerUsage(t *testing.T) {
	f := newFixture(t, registrytest.RESTOptions(t, "accountquotas"), 1, accountQuota("q", "pods", "3", "limits.cpu", "3"))
	h := f.replicas[0]
	for _, name := range []string{"a", "b", "c"} {
		resp, _ := send(t, h, review(t, "team-a", pod(name, "1"), false))
		require.True(t, resp.Allowed, "%v", resp.Result)
	}
	finished := updateReview(t, "team-a", "", withPhase(pod("a", "1"), corev1.PodRunning), withPhase(pod("a", "1"), corev1.PodSucceeded))
	smaller := updateReview(t, "team-a", "resize", pod("b", "1"), pod("b", "100m"))
	for range 5 {
		for _, body := range [][]byte{finished, smaller} {
			resp, _ := send(t, h, body)
			require.True(t, resp.Allowed, "%v", resp.Result)
		}
	}
	used := f.quota(t, "q").Status.Total.Used
	assert.Equal(t, int64(3), used.Pods().Value(), "status.total.used: %v", used)
	cpu := used[corev1.ResourceLimitsCPU]
	assert.Equal(t, "3", cpu.String())
	resp, _ := send(t, h, review(t, "team-a", pod("d", "1"), false))
	require.False(t, resp.Allowed, "a fourth Pod was admitted against pods: 3")
	assert.Equal(t, "exceeded quota: q, requested: limits.cpu=1,pods=1, used: limits.cpu=3,pods=3, limited: limits.cpu=3,pods=3", resp.Result.Message)
}
