package quota

import (
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func securityPod(cpu string, phase corev1.PodPhase, deadline *int64) *corev1.Pod {
	p := &corev1.Pod{Spec: corev1.PodSpec{ActiveDeadlineSeconds: deadline,
		Containers: []corev1.Container{container("a", list("cpu", cpu), list("cpu", cpu))}}}
	p.Name = "p"
	p.Status.Phase = phase
	return p
}

// TestUpdateChargesNeverCredit: admission only charges; usage is given back by the recount.
func TestUpdateChargesNeverCredit(t *testing.T) {
	tests := []struct {
		name     string
		old, obj *corev1.Pod
		used     corev1.ResourceList
		want     corev1.ResourceList // nil: the quota is not changed
	}{
		{"a pod that finished is not credited", securityPod("1", corev1.PodRunning, nil), securityPod("1", corev1.PodSucceeded, nil),
			list("pods", "1", "requests.cpu", "1"), nil},
		{"lower requests are not credited", securityPod("2", corev1.PodRunning, nil), securityPod("1", corev1.PodRunning, nil),
			list("pods", "1", "requests.cpu", "2"), nil},
		{"resize raises requests", securityPod("1", corev1.PodRunning, nil), securityPod("3", corev1.PodRunning, nil),
			list("pods", "1", "requests.cpu", "1"), list("pods", "1", "requests.cpu", "3")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := Quota{Name: "q", Spec: corev1.ResourceQuotaSpec{Hard: list("pods", "10", "requests.cpu", "10")}, Used: tt.used}
			got, err := admit([]Quota{q}, pods, unstructuredOf(t, tt.obj), unstructuredOf(t, tt.old))
			require.NoError(t, err)
			if tt.want == nil {
				require.Nil(t, got[0], "usage changed: %v", got[0])
				return
			}
			assertList(t, tt.want, got[0], tt.name)
		})
	}
}

// TestScopeEntryChargesFullUsage: a quota that covers the new object but not the old one
// is charged all of the new object's usage.
func TestScopeEntryChargesFullUsage(t *testing.T) {
	terminating := Quota{Name: "term", Spec: corev1.ResourceQuotaSpec{Hard: list("pods", "1", "requests.cpu", "1"),
		Scopes: []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeTerminating}}, Used: list("pods", "1", "requests.cpu", "1")}
	tests := []struct {
		name     string
		old, obj *corev1.Pod
		q        Quota
		wantErr  bool
		want     corev1.ResourceList
	}{
		{"entering a full Terminating quota is refused", securityPod("1", corev1.PodRunning, nil), securityPod("1", corev1.PodRunning, ptr.To[int64](60)),
			terminating, true, nil},
		{"entering an empty Terminating quota charges it", securityPod("1", corev1.PodRunning, nil), securityPod("1", corev1.PodRunning, ptr.To[int64](60)),
			Quota{Name: "term", Spec: terminating.Spec}, false, list("pods", "1", "requests.cpu", "1")},
		{"staying in scope charges the difference only", securityPod("1", corev1.PodRunning, ptr.To[int64](60)), securityPod("1", corev1.PodRunning, ptr.To[int64](30)),
			terminating, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := admit([]Quota{tt.q}, pods, unstructuredOf(t, tt.obj), unstructuredOf(t, tt.old))
			if tt.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			if tt.want == nil {
				require.Nil(t, got[0], "usage changed: %v", got[0])
				return
			}
			assertList(t, tt.want, got[0], tt.name)
		})
	}
}
