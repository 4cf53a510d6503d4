package e2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// The hub's list of a tenant's Spaces with two members against a member's own list of the
// same tenant, in the same run: ns/op of each, and their ratio as hub/member (goal: at most
// 1.5). The two members are two Clusters of the hub on the one member control plane, so that
// the hub asks two members for every list. The tenant sees 20 Spaces in the member and 20 in
// the hub, among 200 namespaces in each cluster.
//
// It measures, in turn, HUB_BENCH_ROUNDS times (default 2), the hub without its views of the
// members (--hub-cache-max-callers=0: every list asks both members, as a hub without the
// cache does) and with them (the default flags), restarting the hub's tenancy-apiserver
// between the two, and lists 50 times untimed after each restart: sub-benchmarks
// cache=off-<round> and cache=on-<round>.
func BenchmarkHubList(b *testing.B) {
	ctx := context.Background()
	m := member(b)
	names := []string{framework.UniqueName("bench-a"), framework.UniqueName("bench-b")}
	for _, n := range names {
		joinMember(b, m, n)
	}
	user := framework.UniqueName("hub-bench")
	prefix := framework.UniqueName("hubb")
	for _, admin := range []framework.Clients{cluster.AdminClients(b), m.AdminClients(b)} {
		for i := range 200 {
			ns := fmt.Sprintf("%s-%03d", prefix, i)
			_, err := admin.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
				Name: ns, Labels: map[string]string{"kiosk.sh/account": "bench"}}}, metav1.CreateOptions{})
			require.NoError(b, err)
			b.Cleanup(func() { _ = admin.Kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}) })
			if i%10 == 0 {
				_, err = admin.Kube.RbacV1().RoleBindings(ns).Create(ctx, viewBinding("view-"+user, user), metav1.CreateOptions{})
				require.NoError(b, err)
			}
		}
	}
	rounds := 2
	if r, err := strconv.Atoi(os.Getenv("HUB_BENCH_ROUNDS")); err == nil && r > 0 {
		rounds = r
	}
	b.Cleanup(func() { cluster.Replica(0).Restart(b) })
	for round := 1; round <= rounds; round++ {
		for _, cached := range []bool{false, true} {
			if cached {
				cluster.Replica(0).Restart(b)
			} else {
				cluster.Replica(0).Restart(b, "--hub-cache-max-callers=0")
			}
			require.NoError(b, cluster.WaitAPIServicesAvailable(ctx, 2*time.Minute))
			hub := cluster.ClientsAs(b, user).Kiosk.TenancyV1alpha1().Spaces()
			own := m.ClientsAs(b, user).Kiosk.TenancyV1alpha1().Spaces()
			deadline := time.Now().Add(30 * time.Second)
			for {
				l, err := hub.List(ctx, metav1.ListOptions{})
				require.NoError(b, err)
				if len(l.Items) >= 60 || time.Now().After(deadline) {
					require.GreaterOrEqual(b, len(l.Items), 60, "the hub lists the tenant's 20 Spaces of each of its three clusters")
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			if cached {
				// The views start after the first answers: wait until both members' are used.
				hits := func() float64 { return hubCacheMetric(b, "hits", names[0]) + hubCacheMetric(b, "hits", names[1]) }
				deadline := time.Now().Add(30 * time.Second)
				for before := hits(); ; {
					_, err := hub.List(ctx, metav1.ListOptions{})
					require.NoError(b, err)
					if hits() >= before+2 {
						break
					}
					require.False(b, time.Now().After(deadline), "the hub's lists are not answered from its views")
				}
			}
			// The restarted server settles first (kube-apiserver fetches its OpenAPI, the
			// controllers sync): lists before the timed ones.
			for range 50 {
				_, err := own.List(ctx, metav1.ListOptions{})
				require.NoError(b, err)
				_, err = hub.List(ctx, metav1.ListOptions{})
				require.NoError(b, err)
			}
			b.Run(fmt.Sprintf("cache=%s-%d", map[bool]string{false: "off", true: "on"}[cached], round), func(b *testing.B) {
				var hubTime, ownTime time.Duration
				for range b.N {
					start := time.Now()
					_, err := own.List(ctx, metav1.ListOptions{})
					ownTime += time.Since(start)
					require.NoError(b, err)
					start = time.Now()
					l, err := hub.List(ctx, metav1.ListOptions{})
					hubTime += time.Since(start)
					require.NoError(b, err)
					require.GreaterOrEqual(b, len(l.Items), 60)
				}
				b.ReportMetric(float64(hubTime.Nanoseconds())/float64(b.N), "hub-ns/op")
				b.ReportMetric(float64(ownTime.Nanoseconds())/float64(b.N), "member-ns/op")
				b.ReportMetric(float64(hubTime)/float64(ownTime), "hub/member")
			})
		}
	}
}
