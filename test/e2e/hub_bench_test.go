package e2e

import (
	"context"
	"fmt"
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
func BenchmarkHubList(b *testing.B) {
	ctx := context.Background()
	m := member(b)
	joinMember(b, m, framework.UniqueName("bench-a"))
	joinMember(b, m, framework.UniqueName("bench-b"))
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

	var hubTime, ownTime time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		_, err := own.List(ctx, metav1.ListOptions{})
		ownTime += time.Since(start)
		require.NoError(b, err)
		start = time.Now()
		_, err = hub.List(ctx, metav1.ListOptions{})
		hubTime += time.Since(start)
		require.NoError(b, err)
	}
	b.StopTimer()
	b.ReportMetric(float64(hubTime.Nanoseconds())/float64(b.N), "hub-ns/op")
	b.ReportMetric(float64(ownTime.Nanoseconds())/float64(b.N), "member-ns/op")
	b.ReportMetric(float64(hubTime)/float64(ownTime), "hub/member")
}
