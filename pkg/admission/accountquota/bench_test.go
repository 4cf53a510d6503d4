package accountquota_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/admission/accountquota"
	aqregistry "github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/config/accountquota"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/raw"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/registrytest"
)

// BenchmarkWebhook is the webhook handler under 50 concurrent callers creating Pods in the
// three Spaces of an Account whose two AccountQuotas (pods, and requests and limits of cpu
// and memory) already count 1,000 Pods. Every charge is written to an etcd that syncs each
// write to disk, in the benchmark's process: reached inside the process as the server's
// embedded etcd is ("embedded"), or through its client port as an etcd of its own is
// ("network"). It reports the handler's latency and, as the baseline from the same run, the
// latency of one such write to the same etcd when nothing else runs.
func BenchmarkWebhook(b *testing.B) {
	b.Run("embedded", func(b *testing.B) { benchmarkWebhook(b, true) })
	b.Run("network", func(b *testing.B) { benchmarkWebhook(b, false) })
}

func benchmarkWebhook(b *testing.B, inProcess bool) {
	etcd := registrytest.StartEtcd(b, true)
	opts := etcd.Options("accountquotas")
	client := func() *clientv3.Client {
		if inProcess {
			return etcd.Client()
		}
		return nil
	}
	f := newFixtureWith(b, opts, client, 1,
		accountQuota("pods", "pods", "1000000"),
		accountQuota("compute", "requests.cpu", "100000", "limits.cpu", "100000", "requests.memory", "100000Gi", "limits.memory", "100000Gi"))
	// The 1,000 existing Pods, as the quota controller counted them.
	seed, err := aqregistry.NewCharger(registrytest.Getter{Options: opts}, "seed", client())
	require.NoError(b, err)
	defer seed.Destroy()
	ctx := genericapirequest.NewContext()
	counted := map[string]corev1.ResourceList{
		"pods":    list("pods", "1000"),
		"compute": list("requests.cpu", "500", "limits.cpu", "1000", "requests.memory", "1000Gi", "limits.memory", "1000Gi"),
	}
	// write replaces the usage of both quotas in one transaction, as a batch does.
	write := func(used map[string]corev1.ResourceList) {
		var swaps []raw.Swap
		for name, u := range used {
			prev, err := seed.Current(ctx, name, false)
			require.NoError(b, err)
			q := aqregistry.Quota(prev).DeepCopy()
			q.Status.Total.Hard, q.Status.Total.Used = q.Spec.Quota.Hard, u
			next, err := seed.Next(ctx, name, q)
			require.NoError(b, err)
			swaps = append(swaps, raw.Swap{Name: name, Prev: prev, Next: next})
		}
		stored, err := seed.Commit(ctx, swaps...)
		require.NoError(b, err)
		require.True(b, stored)
	}
	write(counted)
	// The baseline, in the same run: one such write at a time to the same etcd.
	writes := make([]time.Duration, 200)
	for i := range writes {
		used := map[string]corev1.ResourceList{"pods": list("pods", fmt.Sprint(1000+1+i%2)), "compute": counted["compute"]}
		start := time.Now()
		write(used)
		writes[i] = time.Since(start)
	}
	write(counted)
	const callers = 50
	bodies := make([][]byte, b.N)
	for i := range bodies {
		p := pod(fmt.Sprintf("bench-%d", i), "100m")
		p.Spec.Containers[0].Resources.Requests["memory"] = list("memory", "64Mi")["memory"]
		p.Spec.Containers[0].Resources.Limits["memory"] = list("memory", "128Mi")["memory"]
		bodies[i] = review(b, []string{"team-a", "team-b", "team-c"}[i%3], p, false)
	}
	h := f.replicas[0]
	target := &url.URL{Path: accountquota.Path}
	header := http.Header{"Content-Type": {"application/json"}}
	latencies := make([]time.Duration, b.N)
	var next atomic.Int64
	var wg sync.WaitGroup
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	wall0 := time.Now()
	b.ResetTimer()
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := &recorder{header: http.Header{}}
			for {
				i := int(next.Add(1)) - 1
				if i >= b.N {
					return
				}
				// The caller does as little as it can, so that the two cores go to the
				// handler: the answer is checked, not decoded.
				req := &http.Request{Method: http.MethodPost, URL: target, Header: header,
					Body: io.NopCloser(bytes.NewReader(bodies[i])), ContentLength: int64(len(bodies[i]))}
				rec.Reset()
				start := time.Now()
				h.ServeHTTP(rec, req)
				latencies[i] = time.Since(start)
				if !bytes.Contains(rec.Bytes(), []byte(`"allowed":true`)) {
					b.Errorf("request %d refused: %s", i, rec.String())
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	cpu := time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/op")
	b.ReportMetric(float64(cpu)/float64(time.Since(wall0)), "cores")
	ms := func(s []time.Duration, q int) float64 {
		slices.Sort(s)
		return float64(s[(len(s)-1)*q/100].Microseconds()) / 1000
	}
	b.ReportMetric(ms(latencies, 90), "p90-ms")
	b.ReportMetric(ms(latencies, 100), "max-ms")
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

// recorder is the least a caller needs to read an answer: a ResponseWriter that each
// request of one caller reuses.
type recorder struct {
	bytes.Buffer
	header http.Header
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(int)     {}
