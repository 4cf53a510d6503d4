package e2e

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	tenancyv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// visibleTo makes Spaces names in the cluster of admin (namespaces labelled for account)
// that user may get, through a RoleBinding of view in each.
func visibleTo(t *testing.T, admin framework.Clients, user, account string, names ...string) {
	t.Helper()
	labelledNamespaces(t, admin, account, names...)
	for _, ns := range names {
		_, err := admin.Kube.RbacV1().RoleBindings(ns).Create(context.Background(), viewBinding("view-"+user, user), metav1.CreateOptions{})
		require.NoError(t, err)
	}
}

// spacesIn is "<cluster>/<name>" of each Space of a kubectl get spaces -o json, sorted,
// checking that the kiosk.sh/cluster label and spec.cluster agree; the hub's own Spaces
// have neither.
func spacesIn(t *testing.T, out string) []string {
	t.Helper()
	var l struct {
		Items []tenancyv1alpha1.Space `json:"items"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &l), out)
	got := []string{}
	for _, s := range l.Items {
		assert.Equal(t, s.Labels[configv1alpha1.ClusterLabel], s.Spec.Cluster, "label and spec.cluster of Space %s", s.Name)
		got = append(got, s.Spec.Cluster+"/"+s.Name)
	}
	sort.Strings(got)
	return got
}

// only keeps the entries of spacesIn whose name starts with prefix.
func only(prefix string, entries []string) []string {
	out := []string{}
	for _, e := range entries {
		if strings.HasPrefix(e[strings.Index(e, "/")+1:], prefix) {
			out = append(out, e)
		}
	}
	return out
}

// pollUntil polls cond every 100ms until it holds or d passes.
func pollUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A Cluster is validated field by field, explained by kubectl, printed with real columns,
// and its status says the member answers, its version and that tenancy-apiserver runs there.
func TestHubClusterStatus(t *testing.T) {
	m := member(t)
	bad := cluster.Admin().Apply(t, `apiVersion: config.kiosk.sh/v1alpha1
kind: Cluster
metadata:
  name: bad-cluster
spec:
  server: http://user:pw@127.0.0.1:1
  caBundle: bm90IGEgY2VydA==
  credentialsSecret:
    namespace: kube-system
`).Failure(t)
	for _, field := range []string{"spec.server", "spec.caBundle", "spec.credentialsSecret.name"} {
		assert.Contains(t, bad.Stderr, field)
	}
	// kube-apiserver fetches the server's OpenAPI again after a restart of the server.
	var explain framework.Result
	pollUntil(t, time.Minute, "kubectl explain clusters.spec.credentialsSecret", func() bool {
		explain = cluster.Admin().Run(t, "explain", "clusters.spec.credentialsSecret")
		return explain.Err == nil
	})
	assert.Contains(t, explain.Stdout, "credentials")

	name := framework.UniqueName("member")
	joinMember(t, m, name)
	c := waitClusterStatus(t, name, func(s configv1alpha1.ClusterStatus) bool { return s.ServerVersion != "" })
	assert.True(t, c.Status.Reachable)
	assert.True(t, c.Status.TenancyAPIServer)
	v, err := m.AdminClients(t).Kube.Discovery().ServerVersion()
	require.NoError(t, err)
	assert.Equal(t, v.GitVersion, c.Status.ServerVersion)
	table := cluster.Admin().Run(t, "get", "clusters", name).Success(t)
	for _, col := range []string{"SERVER", "REACHABLE", "VERSION", "TENANCY"} {
		assert.Contains(t, table.Stdout, col)
	}
	assert.Contains(t, table.Stdout, "true")
}

// A tenant lists, through the hub, their Spaces of the hub and of the member: exactly each
// cluster's own answer for them, marked with the cluster (label, spec.cluster, CLUSTER
// column). ?cluster= and the spec.cluster field selector narrow the list; a user the member
// shows nothing sees none of its Spaces through the hub.
func TestHubListsEachClustersOwnView(t *testing.T) {
	m := member(t)
	name := framework.UniqueName("member")
	joinMember(t, m, name)
	user, other := framework.UniqueName("hub-tenant"), framework.UniqueName("hub-other")
	prefix := framework.UniqueName("hubls")
	visibleTo(t, cluster.AdminClients(t), user, "acct", prefix+"-hub-a")
	visibleTo(t, m.AdminClients(t), user, "acct", prefix+"-mem-a", prefix+"-mem-b")
	labelledNamespaces(t, m.AdminClients(t), "acct", prefix+"-mem-hidden")
	visibleTo(t, m.AdminClients(t), other, "acct", prefix+"-mem-other")

	want := []string{"/" + prefix + "-hub-a", name + "/" + prefix + "-mem-a", name + "/" + prefix + "-mem-b"}
	var got []string
	pollUntil(t, 10*time.Second, "the hub lists the tenant's Spaces of both clusters", func() bool {
		got = only(prefix, spacesIn(t, cluster.As(user).Run(t, "get", "spaces", "-o", "json").Success(t).Stdout))
		return assert.ObjectsAreEqual(want, got)
	})
	// Each member's part is exactly what the member itself lists for the tenant.
	own := only(prefix, spacesIn(t, m.As(user).Run(t, "get", "spaces", "-o", "json").Success(t).Stdout))
	assert.Equal(t, []string{"/" + prefix + "-mem-a", "/" + prefix + "-mem-b"}, own)

	table := cluster.As(user).Run(t, "get", "spaces").Success(t).Stdout
	assert.Contains(t, table, "CLUSTER")
	for _, line := range strings.Split(table, "\n") {
		if strings.HasPrefix(line, prefix+"-mem-a ") {
			assert.Equal(t, name, strings.Fields(line)[1], "the CLUSTER column of %q", line)
		}
	}

	narrowed := cluster.As(user).Run(t, "get", "--raw", "/apis/tenancy.kiosk.sh/v1alpha1/spaces?cluster="+name).Success(t)
	assert.Equal(t, want[1:], only(prefix, spacesIn(t, narrowed.Stdout)))
	bySelector := cluster.As(user).Run(t, "get", "spaces", "-o", "json", "--field-selector", "spec.cluster="+name).Success(t)
	assert.Equal(t, want[1:], only(prefix, spacesIn(t, bySelector.Stdout)))
	byLabel := cluster.As(user).Run(t, "get", "spaces", "-o", "json", "-l", configv1alpha1.ClusterLabel+"="+name).Success(t)
	assert.Equal(t, want[1:], only(prefix, spacesIn(t, byLabel.Stdout)))
	hubOnly := cluster.As(user).Run(t, "get", "spaces", "-o", "json", "--field-selector", "spec.cluster=").Success(t)
	assert.Equal(t, want[:1], only(prefix, spacesIn(t, hubOnly.Stdout)))

	// Get finds the Space in the member; the hidden one is NotFound, as is a name that exists nowhere.
	got1 := cluster.As(user).Run(t, "get", "space", prefix+"-mem-a", "-o", "jsonpath={.spec.cluster}").Success(t)
	assert.Equal(t, name, got1.Stdout)
	hidden := cluster.As(user).Run(t, "get", "space", prefix+"-mem-hidden").Failure(t)
	nowhere := cluster.As(user).Run(t, "get", "space", prefix+"-nowhere").Failure(t)
	assert.Equal(t, strings.ReplaceAll(hidden.Stderr, "-mem-hidden", "-X"), strings.ReplaceAll(nowhere.Stderr, "-nowhere", "-X"))
	assert.Contains(t, hidden.Stderr, "NotFound")

	// A user the member shows none of these sees none of them through the hub.
	assert.Equal(t, []string{name + "/" + prefix + "-mem-other"},
		only(prefix, spacesIn(t, cluster.As(other).Run(t, "get", "spaces", "-o", "json").Success(t).Stdout)))
	stranger := framework.UniqueName("hub-stranger")
	assert.Empty(t, only(prefix, spacesIn(t, cluster.As(stranger).Run(t, "get", "spaces", "-o", "json").Success(t).Stdout)))
}

// kioskEdit lets user create and delete Spaces in the cluster of admin (kiosk-edit), as the
// walkthrough's cluster-role-binding.yml does.
func kioskEdit(t *testing.T, k framework.Kubectl, user string) {
	t.Helper()
	name := framework.UniqueName("kiosk-edit")
	k.Apply(t, `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: `+name+`
subjects:
- kind: User
  name: `+user+`
  apiGroup: rbac.authorization.k8s.io
roleRef:
  kind: ClusterRole
  name: kiosk-edit
  apiGroup: rbac.authorization.k8s.io
`).Success(t)
	t.Cleanup(func() { k.Run(t, "delete", "clusterrolebinding", name, "--ignore-not-found") })
}

// account applies an Account with user as its subject through k; its Spaces bind them to
// kiosk-space-admin, which may delete the Space.
func account(t *testing.T, k framework.Kubectl, name, user string) {
	t.Helper()
	k.Apply(t, `apiVersion: tenancy.kiosk.sh/v1alpha1
kind: Account
metadata:
  name: `+name+`
spec:
  space:
    clusterRole: kiosk-space-admin
  subjects:
  - kind: User
    name: `+user+`
    apiGroup: rbac.authorization.k8s.io
`).Success(t)
	t.Cleanup(func() { k.Run(t, "delete", "accounts.config.kiosk.sh", name, "--ignore-not-found", "--wait=false") })
}

// A tenant creates a Space with spec.cluster through the hub: it lands in the member, made
// by the member's tenancy-apiserver for the tenant (its Account, its RoleBinding), not in the
// hub. kubectl delete through the hub deletes it there. A kiosk manifest without spec.cluster
// lands in the hub.
func TestHubCreateAndDeleteInMember(t *testing.T) {
	m := member(t)
	name := framework.UniqueName("member")
	joinMember(t, m, name)
	user := framework.UniqueName("hub-creator")
	acct := framework.UniqueName("hub-acct")
	kioskEdit(t, cluster.Admin(), user)
	kioskEdit(t, m.Admin(), user)
	account(t, cluster.Admin(), acct, user)
	account(t, m.Admin(), acct, user)

	remote, local := framework.UniqueName("hub-remote"), framework.UniqueName("hub-local")
	// The tenant's lists of the member come from their view of it once it is in sync.
	tenant := cluster.ClientsAs(t, user)
	pollUntil(t, 10*time.Second, "a list answered from the tenant's view of the member", func() bool {
		before := hubCacheMetric(t, "hits", name)
		hubList(t, tenant, remote)
		return hubCacheMetric(t, "hits", name) > before
	})
	created := cluster.As(user).Apply(t, `apiVersion: tenancy.kiosk.sh/v1alpha1
kind: Space
metadata:
  name: `+remote+`
spec:
  account: `+acct+`
  cluster: `+name+`
`).Success(t)
	assert.Contains(t, created.Stdout, "created")
	// Read your writes: the list right after the create shows the Space.
	assert.Equal(t, []string{name + "/" + remote}, hubList(t, tenant, remote), "the tenant's list right after the create")
	t.Cleanup(func() { m.Admin().Run(t, "delete", "namespace", remote, "--ignore-not-found", "--wait=false") })
	cluster.As(user).Apply(t, `apiVersion: tenancy.kiosk.sh/v1alpha1
kind: Space
metadata:
  name: `+local+`
spec:
  account: `+acct+`
`).Success(t)
	t.Cleanup(func() { cluster.Admin().Run(t, "delete", "namespace", local, "--ignore-not-found", "--wait=false") })

	ns := m.Admin().Run(t, "get", "namespace", remote, "-o", "jsonpath={.metadata.labels.kiosk\\.sh/account}").Success(t)
	assert.Equal(t, acct, ns.Stdout, "the member's namespace belongs to the member's Account")
	assert.Contains(t, cluster.Admin().Run(t, "get", "namespace", remote).Failure(t).Stderr, "NotFound", "nothing lands in the hub")
	cluster.Admin().Run(t, "get", "namespace", local).Success(t)
	assert.Contains(t, m.Admin().Run(t, "get", "namespace", local).Failure(t).Stderr, "NotFound")
	// The member made it for the tenant: they use it there with their own rights.
	m.As(user).Run(t, "get", "configmaps", "-n", remote).Success(t)

	got := cluster.As(user).Run(t, "get", "space", remote, "-o", "jsonpath={.spec.cluster}").Success(t)
	assert.Equal(t, name, got.Stdout)

	cluster.As(user).Run(t, "delete", "space", remote, "--wait=false").Success(t)
	// and the list right after the delete shows it going, or gone.
	l, err := tenant.Kiosk.TenancyV1alpha1().Spaces().List(context.Background(), metav1.ListOptions{})
	require.NoError(t, err)
	for _, s := range l.Items {
		if s.Name == remote {
			assert.Equal(t, "Terminating", string(s.Status.Phase), "the tenant's list right after the delete")
		}
	}
	pollUntil(t, 30*time.Second, "the member's namespace goes", func() bool {
		r := m.Admin().Run(t, "get", "namespace", remote, "-o", "jsonpath={.status.phase}")
		return r.Err != nil || r.Stdout == "Terminating"
	})
	cluster.Admin().Run(t, "get", "namespace", local).Success(t)
}

// A tenant cannot use the hub to reach what a member does not show them: naming a member
// where they may not create Spaces and naming a cluster that does not exist answer alike;
// a malformed cluster name is refused naming the parameter; the front-proxy and
// impersonation headers they send never reach a member.
func TestHubAttackerCannotProbeOrSmuggle(t *testing.T) {
	m := member(t)
	name := framework.UniqueName("member")
	joinMember(t, m, name)
	attacker := framework.UniqueName("hub-attacker")
	kioskEdit(t, cluster.Admin(), attacker)
	prefix := framework.UniqueName("hubsec")
	labelledNamespaces(t, m.AdminClients(t), "victim", prefix+"-secret")

	space := func(cluster string) string {
		return `apiVersion: tenancy.kiosk.sh/v1alpha1
kind: Space
metadata:
  name: ` + prefix + `-probe
spec:
  account: victim
  cluster: ` + cluster + `
`
	}
	real := cluster.As(attacker).Apply(t, space(name)).Failure(t)
	fake := cluster.As(attacker).Apply(t, space("no-such-cluster")).Failure(t)
	assert.Contains(t, real.Stderr, "Forbidden")
	assert.Equal(t, real.Stderr, fake.Stderr, "an existing member and a cluster that does not exist answer alike")
	assert.Contains(t, m.Admin().Run(t, "get", "namespace", prefix+"-probe").Failure(t).Stderr, "NotFound")

	invalid := cluster.As(attacker).Apply(t, space("Not_A_Name")).Failure(t)
	assert.Contains(t, invalid.Stderr, "spec.cluster")
	badParam := cluster.As(attacker).Run(t, "get", "--raw", "/apis/tenancy.kiosk.sh/v1alpha1/spaces?cluster=a/b").Failure(t)
	assert.Contains(t, badParam.Stderr, "query parameter cluster")

	for _, c := range []string{name, "no-such-cluster"} {
		l := cluster.As(attacker).Run(t, "get", "--raw", "/apis/tenancy.kiosk.sh/v1alpha1/spaces?cluster="+c).Success(t)
		assert.Empty(t, only(prefix, spacesIn(t, l.Stdout)), "cluster %s", c)
	}
	assert.Contains(t, cluster.As(attacker).Run(t, "get", "space", prefix+"-secret").Failure(t).Stderr, "NotFound")

	// With a token of their own, the attacker sends front-proxy headers claiming to be an
	// admin: kube-apiserver replaces them, and the member is asked as the attacker.
	sa := framework.UniqueName("hub-attacker-sa")
	cluster.Admin().Run(t, "create", "serviceaccount", sa, "-n", "default").Success(t)
	t.Cleanup(func() { cluster.Admin().Run(t, "delete", "serviceaccount", sa, "-n", "default", "--ignore-not-found") })
	cfg, err := clientcmdConfig(cluster.ServiceAccountKubeconfig(t, "default", sa, time.Hour))
	require.NoError(t, err)
	for _, headers := range []map[string]string{
		{"X-Remote-User": "kubernetes-admin", "X-Remote-Group": "system:masters"},
		{"X-Remote-Extra-Scopes": "all", "Impersonate-Extra-Scopes": "all"},
	} {
		status, body := rawGet(t, cfg, "/apis/tenancy.kiosk.sh/v1alpha1/spaces?cluster="+name, headers)
		if status == 200 {
			assert.Empty(t, only(prefix, spacesIn(t, body)), "headers %v", headers)
		} else {
			assert.Contains(t, []int{400, 403}, status, "headers %v: %s", headers, body)
		}
	}
}

// spaceEvents runs a client-go informer on the hub's Spaces as user and sends each ADDED and
// DELETED, with when it came, on the returned channel.
func spaceEvents(t *testing.T, ctx context.Context, user string) (chan timedEvent, cache.SharedIndexInformer) {
	t.Helper()
	spaces := cluster.ClientsAs(t, user).Kiosk.TenancyV1alpha1().Spaces()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, options metav1.ListOptions) (runtime.Object, error) {
			return spaces.List(ctx, options)
		},
		WatchFuncWithContext: func(ctx context.Context, options metav1.ListOptions) (watch.Interface, error) {
			return spaces.Watch(ctx, options)
		},
	}
	events := make(chan timedEvent, 256)
	informer := cache.NewSharedIndexInformer(lw, &tenancyv1alpha1.Space{}, 0, cache.Indexers{})
	_, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) {
			s := obj.(*tenancyv1alpha1.Space)
			events <- timedEvent{"ADDED " + s.Spec.Cluster + "/" + s.Name, time.Now()}
		},
		DeleteFunc: func(obj interface{}) {
			if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tombstone.Obj
			}
			s := obj.(*tenancyv1alpha1.Space)
			events <- timedEvent{"DELETED " + s.Spec.Cluster + "/" + s.Name, time.Now()}
		},
	})
	require.NoError(t, err)
	go informer.RunWithContext(ctx)
	require.True(t, cache.WaitForCacheSync(ctx.Done(), informer.HasSynced))
	return events, informer
}

type timedEvent struct {
	what string
	at   time.Time
}

// expectEvents waits up to within for every event of wants, in any order, skipping others.
func expectEvents(t *testing.T, events chan timedEvent, within time.Duration, wants ...string) {
	t.Helper()
	pending := map[string]bool{}
	for _, w := range wants {
		pending[w] = true
	}
	timeout := time.After(within)
	for len(pending) > 0 {
		select {
		case e := <-events:
			if !pending[e.what] {
				t.Logf("informer event %s (waiting for %v)", e.what, pending)
			}
			delete(pending, e.what)
		case <-timeout:
			t.Fatalf("no %v within %v", pending, within)
		}
	}
}

// expectEvent waits up to within for the event want, skipping others, and returns when it
// came.
func expectEvent(t *testing.T, events chan timedEvent, want string, within time.Duration) time.Time {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case e := <-events:
			if e.what == want {
				return e.at
			}
			t.Logf("informer event %s (waiting for %s)", e.what, want)
		case <-timeout:
			t.Fatalf("no %s within %v", want, within)
		}
	}
}

// A client-go informer of a tenant on the hub sees ADDED and DELETED from the hub and the
// member, each within a second of the grant or revocation in that cluster, from one merged
// watch. Stopping the member's tenancy-apiserver gives a partial list with a Warning naming
// the member, the Cluster's status says so, and the watch sends DELETED for the member's
// Spaces; starting it again brings them back as ADDED.
func TestHubInformerAcrossClusters(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := member(t)
	name := framework.UniqueName("member")
	joinMember(t, m, name)
	user := framework.UniqueName("hub-watcher")
	prefix := framework.UniqueName("hubw")
	hubAdmin, memberAdmin := cluster.AdminClients(t), m.AdminClients(t)
	visibleTo(t, hubAdmin, user, "acct", prefix+"-hub-a")
	visibleTo(t, memberAdmin, user, "acct", prefix+"-mem-a")
	labelledNamespaces(t, hubAdmin, "acct", prefix+"-hub-b")
	labelledNamespaces(t, memberAdmin, "acct", prefix+"-mem-b")

	events, informer := spaceEvents(t, ctx, user)
	// The merged initial list comes in no particular order of the clusters.
	expectEvents(t, events, 5*time.Second, "ADDED /"+prefix+"-hub-a", "ADDED "+name+"/"+prefix+"-mem-a")

	for _, c := range []struct {
		cluster string
		admin   framework.Clients
	}{{"", hubAdmin}, {name, memberAdmin}} {
		ns := prefix + "-hub-b"
		if c.cluster != "" {
			ns = prefix + "-mem-b"
		}
		rbs := c.admin.Kube.RbacV1().RoleBindings(ns)
		granted := time.Now()
		_, err := rbs.Create(ctx, viewBinding("view-"+user, user), metav1.CreateOptions{})
		require.NoError(t, err)
		added := expectEvent(t, events, "ADDED "+c.cluster+"/"+ns, 5*time.Second).Sub(granted)
		assert.Less(t, added, time.Second, "ADDED from cluster %q", c.cluster)
		revoked := time.Now()
		require.NoError(t, rbs.Delete(ctx, "view-"+user, metav1.DeleteOptions{}))
		gone := expectEvent(t, events, "DELETED "+c.cluster+"/"+ns, 5*time.Second).Sub(revoked)
		assert.Less(t, gone, time.Second, "DELETED from cluster %q", c.cluster)
		t.Logf("cluster %q: ADDED %v after the grant, DELETED %v after the revocation", c.cluster, added, gone)
	}

	// The member's tenancy-apiserver stops.
	m.Replica(0).Stop(t)
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			m.Replica(0).Start(t)
		}
	})
	expectEvent(t, events, "DELETED "+name+"/"+prefix+"-mem-a", 30*time.Second)
	partial := cluster.As(user).Run(t, "get", "spaces", "-o", "json").Success(t)
	assert.Equal(t, []string{"/" + prefix + "-hub-a"}, only(prefix, spacesIn(t, partial.Stdout)))
	assert.Contains(t, partial.Stderr, "Warning: cluster \""+name+"\" is not answering")
	waitClusterStatus(t, name, func(s configv1alpha1.ClusterStatus) bool { return s.Reachable && !s.TenancyAPIServer })
	_, present, err := informer.GetStore().GetByKey(prefix + "-mem-a")
	require.NoError(t, err)
	assert.False(t, present, "the informer no longer holds the member's Space")

	// It starts again: its Spaces come back.
	m.Replica(0).Start(t)
	restarted = true
	require.NoError(t, m.WaitAPIServicesAvailable(ctx, 2*time.Minute))
	expectEvent(t, events, "ADDED "+name+"/"+prefix+"-mem-a", 30*time.Second)
	full := cluster.As(user).Run(t, "get", "spaces", "-o", "json").Success(t)
	assert.Equal(t, []string{"/" + prefix + "-hub-a", name + "/" + prefix + "-mem-a"}, only(prefix, spacesIn(t, full.Stdout)))
	assert.NotContains(t, full.Stderr, "Warning")
}
