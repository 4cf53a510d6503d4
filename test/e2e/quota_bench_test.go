package e2e

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// BenchmarkPodCreateUnderQuota creates Pods with 50 concurrent callers in a namespace that
// already holds 1,000 Pods, once under an AccountQuota (this server's webhook) and once
// under a ResourceQuota (kube-apiserver's built-in admission), and reports the latency of
// each through kube-apiserver and their ratio. Run it with make bench-e2e.
func BenchmarkPodCreateUnderQuota(b *testing.B) {
	ctx := context.Background()
	cfg := cluster.Config(b)
	cfg.QPS = -1
	kube := framework.NewClients(b, cfg).Kube
	admin := cluster.AdminClients(b)
	account := framework.UniqueName("qbench")
	tenantNS, plainNS := account+"-tenant", account+"-plain"
	for _, ns := range []struct {
		name   string
		labels map[string]string
	}{{tenantNS, nil}, {plainNS, nil}} {
		_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns.name, Labels: ns.labels}}, metav1.CreateOptions{})
		require.NoError(b, err)
	}
	b.Cleanup(func() {
		deleted(b, "Namespace "+tenantNS, kube.CoreV1().Namespaces().Delete(context.Background(), tenantNS, metav1.DeleteOptions{}))
		deleted(b, "Namespace "+plainNS, kube.CoreV1().Namespaces().Delete(context.Background(), plainNS, metav1.DeleteOptions{}))
		deleted(b, "AccountQuota "+account, admin.Kiosk.ConfigV1alpha1().AccountQuotas().Delete(context.Background(), account, metav1.DeleteOptions{}))
	})
	// 1,000 existing Pods in each, created before any quota; then the tenant namespace
	// joins the Account.
	createPods(b, kube, tenantNS, "existing", 1000)
	createPods(b, kube, plainNS, "existing", 1000)
	ns, err := kube.CoreV1().Namespaces().Get(ctx, tenantNS, metav1.GetOptions{})
	require.NoError(b, err)
	ns.Labels = map[string]string{"kiosk.sh/account": account}
	_, err = kube.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{})
	require.NoError(b, err)
	hard := corev1.ResourceList{corev1.ResourcePods: resource.MustParse("100000")}
	_, err = admin.Kiosk.ConfigV1alpha1().AccountQuotas().Create(ctx, &configv1alpha1.AccountQuota{ObjectMeta: metav1.ObjectMeta{Name: account},
		Spec: configv1alpha1.AccountQuotaSpec{Account: account, Quota: corev1.ResourceQuotaSpec{Hard: hard}}}, metav1.CreateOptions{})
	require.NoError(b, err)
	_, err = kube.CoreV1().ResourceQuotas(plainNS).Create(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "pods"},
		Spec: corev1.ResourceQuotaSpec{Hard: hard}}, metav1.CreateOptions{})
	require.NoError(b, err)
	eventually(b, "both quotas count the existing Pods", func(ctx context.Context) bool {
		q, err1 := admin.Kiosk.ConfigV1alpha1().AccountQuotas().Get(ctx, account, metav1.GetOptions{})
		rq, err2 := kube.CoreV1().ResourceQuotas(plainNS).Get(ctx, "pods", metav1.GetOptions{})
		return err1 == nil && err2 == nil && q.Status.Total.Used.Pods().Value() == 1000 && rq.Status.Used.Pods().Value() == 1000
	})

	before := webhookHistogram(b)
	b.ResetTimer()
	tenant := createPods(b, kube, tenantNS, "bench", b.N)
	b.StopTimer()
	handler := webhookHistogram(b).minus(before)
	b.StartTimer()
	plain := createPods(b, kube, plainNS, "bench", b.N)
	b.StopTimer()
	// The webhook's own time, from its histogram: the bucket bounds that hold the median and
	// the 99th percentile, and the share decided within 5 ms.
	b.ReportMetric(handler.quantile(0.50)*1000, "handler-p50-le-ms")
	b.ReportMetric(handler.quantile(0.99)*1000, "handler-p99-le-ms")
	b.ReportMetric(handler.within(0.005)*100, "handler-within-5ms-%")
	p := func(s []time.Duration, q int) float64 { return float64(s[len(s)*q/100].Microseconds()) / 1000 }
	b.ReportMetric(p(tenant, 50), "accountquota-p50-ms")
	b.ReportMetric(p(tenant, 99), "accountquota-p99-ms")
	b.ReportMetric(p(plain, 50), "resourcequota-p50-ms")
	b.ReportMetric(p(plain, 99), "resourcequota-p99-ms")
	b.ReportMetric(p(tenant, 50)/p(plain, 50), "ratio-p50")
	b.ReportMetric(p(tenant, 99)/p(plain, 99), "ratio-p99")
}

// createPods creates n Pods in namespace with 50 concurrent callers and returns each
// create's latency, sorted.
func createPods(b testing.TB, kube kubernetes.Interface, namespace, prefix string, n int) []time.Duration {
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		samples []time.Duration
	)
	next := make(chan int)
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%05d", prefix, i)},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}}
				start := time.Now()
				_, err := kube.CoreV1().Pods(namespace).Create(context.Background(), pod, metav1.CreateOptions{})
				d := time.Since(start)
				if err != nil {
					b.Errorf("creating pod %s/%s: %v", namespace, pod.Name, err)
				}
				mu.Lock()
				samples = append(samples, d)
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	slices.Sort(samples)
	return samples
}

// histogram is the cumulative bucket counts of the webhook's allowed decisions.
type histogram map[float64]float64

// webhookHistogram scrapes tenancy_accountquota_admission_duration_seconds{result="allowed"}
// from replica 0's /metrics.
func webhookHistogram(b testing.TB) histogram {
	return metricHistogram(b, "tenancy_accountquota_admission_duration_seconds_bucket{", `result="allowed"`)
}

// metricHistogram scrapes the buckets of the histogram whose lines start with prefix and
// hold label from replica 0's /metrics.
func metricHistogram(b testing.TB, prefix, label string) histogram {
	client, err := rest.UnversionedRESTClientFor(withCodec(cluster.Replica(0).Config()))
	require.NoError(b, err)
	raw, err := client.Get().AbsPath("/metrics").DoRaw(context.Background())
	require.NoError(b, err)
	h := histogram{}
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, prefix) || !strings.Contains(line, label) {
			continue
		}
		le := line[strings.Index(line, `le="`)+4:]
		bound, err := strconv.ParseFloat(le[:strings.Index(le, `"`)], 64)
		if err != nil {
			bound = math.Inf(1)
		}
		count, err := strconv.ParseFloat(strings.TrimSpace(line[strings.LastIndex(line, " "):]), 64)
		require.NoError(b, err)
		h[bound] = count
	}
	return h
}

func withCodec(cfg *rest.Config) *rest.Config {
	cfg.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	return cfg
}

func (h histogram) minus(o histogram) histogram {
	out := histogram{}
	for k, v := range h {
		out[k] = v - o[k]
	}
	return out
}

func (h histogram) bounds() []float64 {
	out := make([]float64, 0, len(h))
	for k := range h {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// quantile is the upper bound of the bucket that holds quantile q.
func (h histogram) quantile(q float64) float64 {
	bounds := h.bounds()
	total := h[math.Inf(1)]
	for _, le := range bounds {
		if total > 0 && h[le] >= q*total {
			return le
		}
	}
	return math.NaN()
}

// within is the share of decisions that took at most bound seconds, a bucket bound.
func (h histogram) within(bound float64) float64 {
	if total := h[math.Inf(1)]; total > 0 {
		return h[bound] / total
	}
	return math.NaN()
}
