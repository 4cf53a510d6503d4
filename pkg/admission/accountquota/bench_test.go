package accountquota_test

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/admission/accountquota"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	aqregistry "github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/config/accountquota"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/registrytest"
)

// BenchmarkWebhook is the webhook handler under 50 concurrent callers creating Pods in the
// three Spaces of an Account whose two AccountQuotas (pods, and requests and limits of cpu
// and memory) already count 1,000 Pods. Every charge is written to an etcd that syncs each
// write to disk. It reports the handler's p50 and p99 latency, and, as the baseline from the
// same run, the latency of one such write to the same etcd when nothing else runs.
func BenchmarkWebhook(b *testing.B) {
	opts := registrytest.DurableRESTOptions(b, "accountquotas")
	f := newFixture(b, opts, 1,
		accountQuota("pods", "pods", "1000000"),
		accountQuota("compute", "requests.cpu", "100000", "limits.cpu", "100000", "requests.memory", "100000Gi", "limits.memory", "100000Gi"))
	// The 1,000 existing Pods, as the quota controller counted them.
	seed, err := aqregistry.NewCharger(registrytest.Getter{Options: opts}, "seed")
	require.NoError(b, err)
	defer seed.Destroy()
	ctx := genericapirequest.NewContext()
	for name, used := range map[string][]string{
		"pods":    {"pods", "1000"},
		"compute": {"requests.cpu", "500", "limits.cpu", "1000", "requests.memory", "1000Gi", "limits.memory", "1000Gi"},
	} {
		_, err := seed.Update(ctx, name, func(q *config.AccountQuota) (bool, error) {
			q.Status.Total.Hard, q.Status.Total.Used = q.Spec.Quota.Hard, list(used...)
			return true, nil
		})
		require.NoError(b, err)
	}
	// The baseline, in the same run: one charge-sized write at a time to the same etcd.
	writes := make([]time.Duration, 200)
	for i := range writes {
		start := time.Now()
		_, err := seed.Update(ctx, "pods", func(q *config.AccountQuota) (bool, error) {
			used := q.Status.Total.Used.DeepCopy()
			used["pods"] = list("pods", fmt.Sprint(1000+i%2))["pods"]
			q.Status.Total.Used = used
			return true, nil
		})
		writes[i] = time.Since(start)
		require.NoError(b, err)
	}
	_, err = seed.Update(ctx, "pods", func(q *config.AccountQuota) (bool, error) {
		q.Status.Total.Used = list("pods", "1000")
		return true, nil
	})
	require.NoError(b, err)
	const callers = 50
	bodies := make([][]byte, b.N)
	for i := range bodies {
		p := pod(fmt.Sprintf("bench-%d", i), "100m")
		p.Spec.Containers[0].Resources.Requests["memory"] = list("memory", "64Mi")["memory"]
		p.Spec.Containers[0].Resources.Limits["memory"] = list("memory", "128Mi")["memory"]
		bodies[i] = review(b, []string{"team-a", "team-b", "team-c"}[i%3], p, false)
	}
	h := f.replicas[0]
	latencies := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				// The caller does as little as it can, so that the two cores go to the
				// handler: the answer is checked, not decoded.
				req := httptest.NewRequest(http.MethodPost, accountquota.Path, bytes.NewReader(bodies[i]))
				rec := httptest.NewRecorder()
				start := time.Now()
				h.ServeHTTP(rec, req)
				latencies[i] = time.Since(start)
				if !bytes.Contains(rec.Body.Bytes(), []byte(`"allowed":true`)) {
					b.Errorf("request %d refused: %s", i, rec.Body.String())
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	ms := func(s []time.Duration, q int) float64 {
		slices.Sort(s)
		return float64(s[(len(s)-1)*q/100].Microseconds()) / 1000
	}
	b.ReportMetric(ms(latencies, 50), "p50-ms")
	b.ReportMetric(ms(latencies, 99), "p99-ms")
	b.ReportMetric(ms(writes, 50), "write-p50-ms")
	b.ReportMetric(ms(writes, 99), "write-p99-ms")
	b.ReportMetric(ms(latencies, 99)/ms(writes, 99), "p99/write-p99")
	used := f.quota(b, "pods").Status.Total.Used
	if got := used.Pods().Value(); got != int64(1000+b.N) {
		b.Fatalf("pods used %d, want %d", got, 1000+b.N)
	}
}
