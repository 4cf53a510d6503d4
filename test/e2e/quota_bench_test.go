package e2e

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

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
		_ = kube.CoreV1().Namespaces().Delete(context.Background(), tenantNS, metav1.DeleteOptions{})
		_ = kube.CoreV1().Namespaces().Delete(context.Background(), plainNS, metav1.DeleteOptions{})
		_ = admin.Kiosk.ConfigV1alpha1().AccountQuotas().Delete(context.Background(), account, metav1.DeleteOptions{})
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

	b.ResetTimer()
	tenant := createPods(b, kube, tenantNS, "bench", b.N)
	plain := createPods(b, kube, plainNS, "bench", b.N)
	b.StopTimer()
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
