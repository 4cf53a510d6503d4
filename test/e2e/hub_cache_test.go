package e2e

import (
	"context"
	"math"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/hub"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// hubCacheMetric is the hub's tenancy_hub_view_cache_<name>_total for cluster, from replica
// 0's /metrics (0 before the first).
func hubCacheMetric(t testing.TB, name, clusterName string) float64 {
	t.Helper()
	client, err := rest.UnversionedRESTClientFor(withCodec(cluster.Replica(0).Config()))
	require.NoError(t, err)
	raw, err := client.Get().AbsPath("/metrics").DoRaw(context.Background())
	require.NoError(t, err)
	prefix := "tenancy_hub_view_cache_" + name + "_total{cluster=\"" + clusterName + "\"} "
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			n, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			require.NoError(t, err, line)
			require.False(t, math.IsNaN(n), line)
			return n
		}
	}
	return 0
}

// hubList is "<cluster>/<name>" of the Spaces c lists through the hub whose names start with
// prefix, sorted.
func hubList(t *testing.T, c framework.Clients, prefix string) []string {
	t.Helper()
	l, err := c.Kiosk.TenancyV1alpha1().Spaces().List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	out := []string{}
	for _, s := range l.Items {
		if strings.HasPrefix(s.Name, prefix) {
			out = append(out, s.Spec.Cluster+"/"+s.Name)
		}
	}
	sort.Strings(out)
	return out
}

// The hub answers a tenant's lists of a member from a view kept for their exact identity:
// the same user name without a group, or with an extra, never reads the view of another
// identity but gets one of its own, whose content the member decides. A grant revoked in the
// member leaves the hub's list within a second of leaving the member's own.
func TestHubListCacheKeepsEachIdentitysOwnView(t *testing.T) {
	ctx := context.Background()
	m := member(t)
	name := framework.UniqueName("member")
	joinMember(t, m, name)
	user, group := framework.UniqueName("hub-cached"), framework.UniqueName("hub-cached-group")
	prefix := framework.UniqueName("hubc")
	memberAdmin := m.AdminClients(t)
	labelledNamespaces(t, memberAdmin, "acct", prefix+"-grp")
	visibleTo(t, memberAdmin, user, "acct", prefix+"-own")
	_, err := memberAdmin.Kube.RbacV1().RoleBindings(prefix+"-grp").Create(ctx, groupViewBinding("view-group", group), metav1.CreateOptions{})
	require.NoError(t, err)

	withGroup, alone := cluster.ClientsAs(t, user, group), cluster.ClientsAs(t, user)
	extraCfg := cluster.ConfigAs(t, user, group)
	extraCfg.Impersonate.Extra = map[string][]string{"scopes": {"spaces-only"}}
	withExtra := framework.NewClients(t, extraCfg)
	both := []string{name + "/" + prefix + "-grp", name + "/" + prefix + "-own"}

	pollUntil(t, 10*time.Second, "the hub lists the group's and the user's Spaces", func() bool {
		return assert.ObjectsAreEqual(both, hubList(t, withGroup, prefix))
	})
	// The view starts after the first answer: once a list is a hit, the next ones are too.
	pollUntil(t, 10*time.Second, "a list answered from the view", func() bool {
		before := hubCacheMetric(t, "hits", name)
		require.Equal(t, both, hubList(t, withGroup, prefix))
		return hubCacheMetric(t, "hits", name) > before
	})

	// Selectors are applied to the view as the member applies them.
	hits := hubCacheMetric(t, "hits", name)
	for _, o := range []metav1.ListOptions{
		{FieldSelector: "metadata.name=" + prefix + "-own"},
		{LabelSelector: "kubernetes.io/metadata.name=" + prefix + "-own"},
		{FieldSelector: "metadata.name!=" + prefix + "-grp", LabelSelector: "!missing-label"},
	} {
		l, err := withGroup.Kiosk.TenancyV1alpha1().Spaces().List(ctx, o)
		require.NoError(t, err)
		got := []string{}
		for _, s := range l.Items {
			if strings.HasPrefix(s.Name, prefix) {
				got = append(got, s.Spec.Cluster+"/"+s.Name)
			}
		}
		assert.Equal(t, []string{name + "/" + prefix + "-own"}, got, "selected by %+v", o)
	}
	assert.Equal(t, hits+3, hubCacheMetric(t, "hits", name), "the selected lists were answered from the view")

	// A list at a resourceVersion of its own goes to the member: neither a hit nor a miss.
	at, err := withGroup.Kiosk.TenancyV1alpha1().Spaces().List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	hits, misses := hubCacheMetric(t, "hits", name), hubCacheMetric(t, "misses", name)
	l, err := withGroup.Kiosk.TenancyV1alpha1().Spaces().List(ctx, metav1.ListOptions{ResourceVersion: at.ResourceVersion})
	require.NoError(t, err)
	assert.Len(t, l.Items, len(at.Items), "the list at the resourceVersion of the one before")
	assert.Equal(t, hits, hubCacheMetric(t, "hits", name), "a list at a resourceVersion was answered from the view")
	assert.Equal(t, misses, hubCacheMetric(t, "misses", name), "a list at a resourceVersion looked for a view")

	// The same user without the group: a view of their own, never the group holder's.
	misses = hubCacheMetric(t, "misses", name)
	for range 3 {
		require.Equal(t, []string{name + "/" + prefix + "-own"}, hubList(t, alone, prefix), "the user without the group")
	}
	assert.GreaterOrEqual(t, hubCacheMetric(t, "misses", name), misses+1, "the user without the group missed first")

	// With an extra besides: another identity, so another view (RBAC ignores extras, so the
	// member shows the same Spaces).
	misses = hubCacheMetric(t, "misses", name)
	require.Equal(t, both, hubList(t, withExtra, prefix))
	assert.Equal(t, misses+1, hubCacheMetric(t, "misses", name), "the identity with an extra read another identity's view")

	// The group's grant is revoked in the member.
	require.NoError(t, memberAdmin.Kube.RbacV1().RoleBindings(prefix+"-grp").Delete(ctx, "view-group", metav1.DeleteOptions{}))
	own := m.ClientsAs(t, user, group)
	pollUntil(t, 10*time.Second, "the member's own list drops the revoked Space", func() bool {
		return len(hubList(t, own, prefix)) == 1
	})
	revoked := time.Now()
	pollUntil(t, time.Second, "the hub's list drops the revoked Space", func() bool {
		return assert.ObjectsAreEqual([]string{name + "/" + prefix + "-own"}, hubList(t, withGroup, prefix))
	})
	t.Logf("the hub's list dropped the revoked Space %v after the member's own list", time.Since(revoked))
}

// groupViewBinding binds the ClusterRole view to group, in the namespace it is created in.
func groupViewBinding(name, group string) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects: []rbacv1.Subject{{Kind: "Group", APIGroup: rbacv1.GroupName, Name: group}}}
}

// A view whose member has nothing to tell stays in sync through the member's bookmarks (every
// minute): lists every 5 s for longer than the 90 s after which a silent view would be dropped
// are all answered from it.
func TestHubListCacheOutlivesAQuietMember(t *testing.T) {
	m := member(t)
	name := framework.UniqueName("member")
	joinMember(t, m, name)
	user, prefix := framework.UniqueName("hub-quiet"), framework.UniqueName("hubq")
	visibleTo(t, m.AdminClients(t), user, "acct", prefix+"-a")
	tenant := cluster.ClientsAs(t, user)
	want := []string{name + "/" + prefix + "-a"}
	pollUntil(t, 10*time.Second, "a list answered from the tenant's view", func() bool {
		before := hubCacheMetric(t, "hits", name)
		require.Equal(t, want, hubList(t, tenant, prefix))
		return hubCacheMetric(t, "hits", name) > before
	})
	misses := hubCacheMetric(t, "misses", name)
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for end := time.Now().Add(hub.DefaultCacheOptions.Quiet + 15*time.Second); time.Now().Before(end); <-tick.C {
		require.Equal(t, want, hubList(t, tenant, prefix))
	}
	assert.Equal(t, misses, hubCacheMetric(t, "misses", name), "a list of the quiet member missed the view")
}
