package access_test

import (
	"context"
	"fmt"
	goruntime "runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access/accesstest"
)

// Percentiles reports the median and the 99th percentile of samples.
func percentiles(b *testing.B, samples []time.Duration) {
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(samples[len(samples)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// BenchmarkListVisible lists the Spaces of a user who sees 10, objects included.
func BenchmarkListVisible(b *testing.B) {
	for _, n := range []int{100, 1000, 10000, 100000} {
		b.Run(fmt.Sprintf("namespaces=%d", n), func(b *testing.B) {
			x := accesstest.Shared(n, accesstest.RoleBindings)
			samples := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				samples = append(samples, listVisible(b, x))
			}
			b.StopTimer()
			percentiles(b, samples)
		})
	}
}

// BenchmarkListVisibleScale is BenchmarkListVisible at 1,000 and 100,000 namespaces in
// turns, so that both see the same machine: it reports the ratio of their medians.
func BenchmarkListVisibleScale(b *testing.B) {
	small, large := accesstest.Shared(1000, accesstest.RoleBindings), accesstest.Shared(100000, accesstest.RoleBindings)
	var s, l []time.Duration
	b.ResetTimer()
	for range b.N {
		s = append(s, listVisible(b, small))
		l = append(l, listVisible(b, large))
	}
	b.StopTimer()
	accesstest.ReportScale(b, s, l)
}

// listVisible lists the Spaces of accesstest.Subject with their objects and returns how long
// it took.
func listVisible(b *testing.B, x *access.Index) time.Duration {
	start := time.Now()
	snap := x.Spaces().Snapshot()
	names := snap.Names(accesstest.Subject, false)
	items := make([]*corev1.Namespace, 0, len(names))
	for _, name := range names {
		ns, _ := snap.Get(name)
		items = append(items, ns)
	}
	d := time.Since(start)
	if len(items) != accesstest.Visible {
		b.Fatalf("bench sees %d Spaces, want %d", len(items), accesstest.Visible)
	}
	return d
}

func convert(ns *corev1.Namespace, rev uint64) runtime.Object {
	return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: ns.Name, ResourceVersion: fmt.Sprint(rev)}}
}

// BenchmarkRevocationToWatch measures the time from an RBAC change (a RoleBinding created or
// deleted) until a watcher of the affected user receives the event.
func BenchmarkRevocationToWatch(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("namespaces=%d", n), func(b *testing.B) {
			x := accesstest.Build(n)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w, err := x.Spaces().Watch(ctx, access.WatchOptions[*corev1.Namespace]{Subject: accesstest.Subject, Convert: convert}, access.DefaultWatchConfig)
			if err != nil {
				b.Fatal(err)
			}
			samples := make([]time.Duration, 0, b.N)
			v := accesstest.Revisions{N: 1 << 40}
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				if i%2 == 0 {
					x.UpsertRoleBinding(accesstest.RoleBinding("ns-1", "grant", v.Next(), "view", accesstest.Group("group-0")))
				} else {
					x.DeleteRoleBinding("ns-1", "grant", v.Next())
				}
				<-w.ResultChan()
				samples = append(samples, time.Since(start))
			}
			b.StopTimer()
			percentiles(b, samples)
		})
	}
}

// BenchmarkClusterRevocationToWatch measures the time from a cluster-wide RBAC change that
// takes away a watcher's right to see every Space (its SubjectAccessReview now says no) until
// the watcher holds the first DELETED, and until it holds the DELETED of every Space it no
// longer sees. BenchmarkRevocationToWatch, the same change through a RoleBinding, is its
// baseline.
func BenchmarkClusterRevocationToWatch(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("namespaces=%d", n), func(b *testing.B) {
			x := accesstest.Build(n)
			v := accesstest.Revisions{N: 1 << 40}
			var allowed atomic.Bool
			recheck := func(context.Context) (bool, error) { return allowed.Load(), nil }
			first := make([]time.Duration, 0, b.N)
			all := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				allowed.Store(true)
				ctx, cancel := context.WithCancel(context.Background())
				w, err := x.Spaces().Watch(ctx, access.WatchOptions[*corev1.Namespace]{Subject: accesstest.Subject,
					Everything: true, Recheck: recheck, Convert: convert}, access.DefaultWatchConfig)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				allowed.Store(false)
				x.UpsertClusterRoleBinding(&rbacv1.ClusterRoleBinding{
					ObjectMeta: metav1.ObjectMeta{Name: "unrelated", ResourceVersion: v.Next()},
					RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
				})
				for i := range n - accesstest.Visible {
					ev := <-w.ResultChan()
					if ev.Type != watch.Deleted {
						b.Fatalf("event %d is %s, want DELETED", i, ev.Type)
					}
					if i == 0 {
						first = append(first, time.Since(start))
					}
				}
				all = append(all, time.Since(start))
				b.StopTimer()
				cancel()
				b.StartTimer()
			}
			b.StopTimer()
			percentiles(b, first)
			slices.Sort(all)
			b.ReportMetric(float64(all[len(all)/2].Nanoseconds())/1e3, "all-p50-µs")
		})
	}
}

// BenchmarkClusterRoleChange changes the rules of a ClusterRole that every RoleBinding
// refers to (5,000 at 10,000 namespaces, 50,000 at 100,000): the rules are resolved once,
// then each binding is re-evaluated against the result.
func BenchmarkClusterRoleChange(b *testing.B) {
	for _, c := range []struct{ namespaces, bindings int }{{10000, 5000}, {100000, 50000}} {
		var x *access.Index
		v := accesstest.Revisions{N: 1 << 40}
		b.Run(fmt.Sprintf("namespaces=%d/bindings=%d", c.namespaces, c.bindings), func(b *testing.B) {
			if x == nil {
				x = accesstest.BuildWith(c.namespaces, c.bindings)
			}
			b.ResetTimer()
			for i := range b.N {
				rules := []rbacv1.PolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}
				if i%2 == 0 {
					rules[0].Resources = []string{"pods"}
				}
				x.UpsertClusterRole(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "admin", ResourceVersion: v.Next()}, Rules: rules})
			}
		})
	}
}

// BenchmarkIndexMemory reports the heap the index holds at 10,000 and 100,000 namespaces,
// loaded as the server loads it, with the time the load took and what it allocated on the
// way. Run it with -benchtime=1x.
func BenchmarkIndexMemory(b *testing.B) {
	for _, n := range []int{10000, 100000} {
		b.Run(fmt.Sprintf("namespaces=%d", n), func(b *testing.B) {
			for range b.N {
				held, allocated, took := measureBuild(func() *access.Index { return accesstest.Build(n) })
				b.ReportMetric(held, "MiB")
				b.ReportMetric(allocated, "alloc-MiB")
				b.ReportMetric(took.Seconds(), "load-s")
			}
		})
	}
}

// BenchmarkIndexLoad builds the 10,000-namespace index in turns loaded in place (as the
// server starts) and one object published at a time (as changes after the start are), and
// reports the ratio of their times and of what they allocated.
func BenchmarkIndexLoad(b *testing.B) {
	const n = 10000
	var loaded, incremental []time.Duration
	var loadedAlloc, incrementalAlloc float64
	for range b.N {
		_, a, d := measureBuild(func() *access.Index { return accesstest.Build(n) })
		loaded, loadedAlloc = append(loaded, d), loadedAlloc+a
		_, a, d = measureBuild(func() *access.Index { return accesstest.BuildIncremental(n) })
		incremental, incrementalAlloc = append(incremental, d), incrementalAlloc+a
	}
	slices.Sort(loaded)
	slices.Sort(incremental)
	l, i := loaded[len(loaded)/2], incremental[len(incremental)/2]
	b.ReportMetric(l.Seconds(), "loaded-s")
	b.ReportMetric(i.Seconds(), "incremental-s")
	b.ReportMetric(l.Seconds()/i.Seconds(), "loaded/incremental")
	b.ReportMetric(loadedAlloc/float64(b.N), "loaded-alloc-MiB")
	b.ReportMetric(incrementalAlloc/float64(b.N), "incremental-alloc-MiB")
}

// measureBuild builds an index and returns the heap it holds and the heap allocated while it
// was built, in MiB, and how long it took.
func measureBuild(build func() *access.Index) (held, allocated float64, took time.Duration) {
	var before, after goruntime.MemStats
	goruntime.GC()
	goruntime.ReadMemStats(&before)
	start := time.Now()
	x := build()
	took = time.Since(start)
	goruntime.GC()
	goruntime.ReadMemStats(&after)
	goruntime.KeepAlive(x)
	return float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20), float64(after.TotalAlloc-before.TotalAlloc) / (1 << 20), took
}
