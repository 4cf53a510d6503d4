package access

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// The benchmark cluster: n namespaces, 5,000 RoleBindings, 500 ClusterRoleBindings and
// 1,000 users in 50 groups. The user "bench" sees exactly 10 Spaces.
const (
	benchRoleBindings        = 5000
	benchClusterRoleBindings = 500
	benchUsers               = 1000
	benchGroups              = 50
	benchVisible             = 10
)

var benchSubject = Subject{User: "bench", Groups: []string{"group-0", "system:authenticated"}}

func buildBenchIndex(n int) *Index {
	r := rand.New(rand.NewPCG(1, 2))
	var v rv
	x := New(Options{})
	x.UpsertClusterRole(clusterRole("admin", v.next(),
		rbacv1.PolicyRule{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}))
	x.UpsertClusterRole(clusterRole("view", v.next(), getRule("namespaces"), getRule("pods")))
	for i := range 50 {
		// Cluster-wide roles that grant no namespace, or a couple by name.
		rules := []rbacv1.PolicyRule{{Verbs: []string{"get", "list"}, APIGroups: []string{""}, Resources: []string{"pods", "configmaps"}}}
		if i%10 == 0 {
			rules = append(rules, getRule("namespaces", fmt.Sprintf("ns-%d", i)))
		}
		x.UpsertClusterRole(clusterRole(fmt.Sprintf("cluster-%d", i), v.next(), rules...))
	}
	for i := range n {
		x.UpsertSpace(namespace(fmt.Sprintf("ns-%d", i), v.next()))
	}
	for i := range benchRoleBindings {
		ns := fmt.Sprintf("ns-%d", r.IntN(n))
		subject := user(fmt.Sprintf("user-%d", 1+r.IntN(benchUsers-1)))
		if i%10 == 0 {
			subject = group(fmt.Sprintf("group-%d", 1+r.IntN(benchGroups-1)))
		}
		x.UpsertRoleBinding(roleBinding(ns, fmt.Sprintf("rb-%d", i), v.next(), "ClusterRole", "admin", subject))
	}
	for i := range benchClusterRoleBindings {
		x.UpsertClusterRoleBinding(clusterRoleBinding(fmt.Sprintf("crb-%d", i), v.next(), fmt.Sprintf("cluster-%d", i%50),
			user(fmt.Sprintf("user-%d", r.IntN(benchUsers))), group(fmt.Sprintf("group-%d", 1+r.IntN(benchGroups-1)))))
	}
	for i := range benchVisible {
		x.UpsertRoleBinding(roleBinding(fmt.Sprintf("ns-%d", i*n/benchVisible), "bench", v.next(), "ClusterRole", "view", user("bench")))
	}
	x.MarkReady()
	return x
}

// percentiles reports the median and the 99th percentile of samples.
func percentiles(b *testing.B, samples []time.Duration) {
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(samples[len(samples)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// BenchmarkListVisible lists the Spaces of a user who sees 10, objects included: what the
// Space storage does for `kubectl get spaces`.
func BenchmarkListVisible(b *testing.B) {
	for _, n := range []int{100, 1000, 10000} {
		b.Run(fmt.Sprintf("namespaces=%d", n), func(b *testing.B) {
			x := buildBenchIndex(n)
			samples := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				snap := x.Spaces().Snapshot()
				names := snap.Names(benchSubject, false)
				items := make([]*corev1.Namespace, 0, len(names))
				for _, name := range names {
					ns, _ := snap.Get(name)
					items = append(items, ns)
				}
				samples = append(samples, time.Since(start))
				if len(items) != benchVisible {
					b.Fatalf("bench sees %d Spaces, want %d", len(items), benchVisible)
				}
			}
			b.StopTimer()
			percentiles(b, samples)
		})
	}
}

// BenchmarkRevocationToWatch measures the time from an RBAC change (a RoleBinding created or
// deleted) until a watcher of the affected user receives the event, with the index at
// 10,000 namespaces.
func BenchmarkRevocationToWatch(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("namespaces=%d", n), func(b *testing.B) {
			x := buildBenchIndex(n)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w, err := x.Spaces().Watch(ctx, WatchOptions[*corev1.Namespace]{Subject: benchSubject, Convert: convertNamespace}, DefaultWatchConfig)
			if err != nil {
				b.Fatal(err)
			}
			samples := make([]time.Duration, 0, b.N)
			var v rv
			v.n = 1 << 40
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				if i%2 == 0 {
					x.UpsertRoleBinding(roleBinding("ns-1", "grant", v.next(), "ClusterRole", "view", group("group-0")))
				} else {
					x.DeleteRoleBinding("ns-1", "grant", v.next())
				}
				<-w.ResultChan()
				samples = append(samples, time.Since(start))
			}
			b.StopTimer()
			percentiles(b, samples)
		})
	}
}

// BenchmarkClusterRoleChange measures a change to a ClusterRole bound in every namespace:
// the rules are resolved once, each binding re-evaluated against the result.
func BenchmarkClusterRoleChange(b *testing.B) {
	x := buildBenchIndex(10000)
	var v rv
	v.n = 1 << 40
	b.ResetTimer()
	for i := range b.N {
		rules := []rbacv1.PolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}
		if i%2 == 0 {
			rules[0].Resources = []string{"pods"}
		}
		x.UpsertClusterRole(clusterRole("admin", v.next(), rules...))
	}
}

// BenchmarkIndexMemory reports the heap the index holds at 10,000 namespaces.
func BenchmarkIndexMemory(b *testing.B) {
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		x := buildBenchIndex(10000)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB")
		runtime.KeepAlive(x)
	}
}
