package quota

import (
	"encoding/json"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BenchmarkChargeFromJSON is what the webhook does per request: decode the Pod from the
// AdmissionReview's JSON once, then charge it to three AccountQuotas whose usage already
// counts 1,000 Pods.
func BenchmarkChargeFromJSON(b *testing.B) {
	quotas := []Quota{
		{Name: "pods", Spec: corev1.ResourceQuotaSpec{Hard: list("pods", "5000")}, Used: list("pods", "1000")},
		{Name: "compute", Spec: corev1.ResourceQuotaSpec{Hard: list("requests.cpu", "2000", "limits.cpu", "4000", "limits.memory", "4000Gi")},
			Used: list("requests.cpu", "500", "limits.cpu", "1000", "limits.memory", "1000Gi")},
		{Name: "best-effort", Spec: corev1.ResourceQuotaSpec{Hard: list("pods", "10"), Scopes: []corev1.ResourceQuotaScope{"BestEffort"}}},
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{
		container("app", list("cpu", "500m", "memory", "1Gi"), list("cpu", "1", "memory", "1Gi")),
		container("sidecar", list("cpu", "100m"), list("cpu", "200m", "memory", "128Mi")),
	}}}
	raw, err := json.Marshal(pod)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		obj, err := Decode(pods, raw)
		if err != nil {
			b.Fatal(err)
		}
		c := NewCharge(obj, nil)
		for _, q := range quotas {
			d := c.DemandOf(q.Name, q.Spec)
			if err := d.Fit(q.Name, q.Spec.Hard, Total(q.Spec.Hard, q.Used), false); err != nil {
				b.Fatal(err)
			}
		}
	}
}
