package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	tenancyv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

const spacesPath = "/apis/tenancy.kiosk.sh/v1alpha1/spaces"

// rawSpaceList is a SpaceList as `kubectl get --raw` prints it.
type rawSpaceList struct {
	Metadata struct {
		ResourceVersion string `json:"resourceVersion"`
		Continue        string `json:"continue"`
	} `json:"metadata"`
	Items []struct {
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	} `json:"items"`
}

func (l rawSpaceList) names() []string {
	var out []string
	for _, it := range l.Items {
		out = append(out, it.Metadata.Name)
	}
	return out
}

// rawSpaces lists Spaces with `kubectl get --raw` and query, and keeps those in mine.
func rawSpaces(t *testing.T, k framework.Kubectl, query string, mine []string) (rawSpaceList, []string) {
	t.Helper()
	var list rawSpaceList
	out := k.Run(t, "get", "--raw", spacesPath+"?"+query).Success(t).Stdout
	require.NoError(t, json.Unmarshal([]byte(out), &list), out)
	var kept []string
	for _, n := range list.names() {
		if slices.Contains(mine, n) {
			kept = append(kept, n)
		}
	}
	return list, kept
}

// labelledNamespaces creates namespaces that are Spaces of account, deleted when the test
// ends.
func labelledNamespaces(t *testing.T, admin framework.Clients, account string, names ...string) {
	t.Helper()
	for _, ns := range names {
		_, err := admin.Kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name: ns, Labels: map[string]string{"kiosk.sh/account": account}}}, metav1.CreateOptions{})
		require.NoError(t, err)
		t.Cleanup(func() {
			deleted(t, "Namespace "+ns, admin.Kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}))
		})
	}
}

// viewBinding binds the ClusterRole view to user, in the namespace it is created in.
func viewBinding(name, user string) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: user}}}
}

// A tenant pages through their Spaces, loses access to some, and goes on with the continue
// token they kept, or with one they decoded and edited to start over or to claim more: they
// get only what they see now, and a token this server never wrote gets 400 BadRequest.
func TestHoleForgedContinueToken(t *testing.T) {
	ctx := context.Background()
	admin := cluster.AdminClients(t)
	me, prefix := framework.UniqueName("hole-continue-me"), framework.UniqueName("hole-continue")
	spaces := []string{prefix + "-a", prefix + "-b", prefix + "-c", prefix + "-d"}
	labelledNamespaces(t, admin, prefix, spaces...)
	for _, ns := range spaces {
		_, err := admin.Kube.RbacV1().RoleBindings(ns).Create(ctx, viewBinding("tenant", me), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	tenant := cluster.As(me)
	eventually(t, "the tenant sees the four Spaces", func(context.Context) bool {
		_, got := rawSpaces(t, tenant, "", spaces)
		return len(got) == len(spaces)
	})

	first, got := rawSpaces(t, tenant, "limit=1", spaces)
	require.Equal(t, spaces[:1], got, "the first page")
	require.NotEmpty(t, first.Metadata.Continue, "a continue token")

	for _, ns := range spaces[1:3] {
		require.NoError(t, admin.Kube.RbacV1().RoleBindings(ns).Delete(ctx, "tenant", metav1.DeleteOptions{}))
	}
	now := []string{spaces[0], spaces[3]}
	eventually(t, "a fresh list shows the revocation", func(context.Context) bool {
		_, got := rawSpaces(t, tenant, "", spaces)
		return slices.Equal(got, now)
	})

	next, got := rawSpaces(t, tenant, "limit=10&continue="+first.Metadata.Continue, spaces)
	assert.Equal(t, spaces[3:], got, "the kept token shows only what the tenant sees now")
	assert.Equal(t, first.Metadata.ResourceVersion, next.Metadata.ResourceVersion, "pages share the first page's resourceVersion")

	raw, err := base64.RawURLEncoding.DecodeString(first.Metadata.Continue)
	require.NoError(t, err, "the token is base64url")
	var token map[string]any
	require.NoError(t, json.Unmarshal(raw, &token), "the token is JSON: %s", raw)
	encode := func(fields map[string]any) string {
		b, err := json.Marshal(fields)
		require.NoError(t, err)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	token["after"] = ""
	_, got = rawSpaces(t, tenant, "continue="+encode(token), spaces)
	assert.Equal(t, now, got, "a token edited to start over shows only what the tenant sees now")

	token["everything"], token["visible"] = true, spaces
	r := tenant.Run(t, "get", "--raw", spacesPath+"?continue="+encode(token)).Failure(t)
	assert.Contains(t, r.Stderr, `Error from server (BadRequest): invalid continue token for spaces.tenancy.kiosk.sh: json: unknown field "everything"`)
	assert.Empty(t, r.Stdout)

	r = tenant.Run(t, "get", "--raw", spacesPath+"?continue=not-a-token!").Failure(t)
	assert.Contains(t, r.Stderr, `Error from server (BadRequest): invalid continue token for spaces.tenancy.kiosk.sh: illegal base64 data at input byte 11`)

	r = tenant.Run(t, "get", "--raw", spacesPath+"?continue="+encode(map[string]any{"rv": 1, "after": ""})).Failure(t)
	assert.Contains(t, r.Stderr, `Error from server (Expired): the continue token for spaces.tenancy.kiosk.sh is too old; list again without it`)

	// kubectl pages the same way: everything the tenant sees, nothing more.
	out := tenant.Run(t, "get", "spaces", "--chunk-size=1", "-o", "name").Success(t).Stdout
	var listed []string
	for _, line := range lines(out) {
		if name, ok := strings.CutPrefix(line, "space.tenancy.kiosk.sh/"); ok && slices.Contains(spaces, name) {
			listed = append(listed, name)
		}
	}
	assert.Equal(t, now, listed, "kubectl get spaces --chunk-size=1")
}

// A user whom a ClusterRoleBinding lets list namespaces (and so see every Space), or list
// Accounts (and so see every Account), watches them; the ClusterRoleBinding is deleted; the
// open watch reports DELETED for every object the user no longer sees, as quickly as a
// RoleBinding revocation, and goes on following what they still see through their own
// Account.
func TestHoleWatchAfterClusterGrantRevoked(t *testing.T) {
	for _, tc := range []struct {
		name  string
		verbs []string
	}{
		// Only a SubjectAccessReview knows that list lets the user see every Space.
		{name: "list", verbs: []string{"list", "watch"}},
		// The access index knows this one too.
		{name: "get-list", verbs: []string{"get", "list", "watch"}},
	} {
		t.Run("spaces-"+tc.name, func(t *testing.T) { spacesWatchAfterClusterGrantRevoked(t, tc.verbs) })
		t.Run("accounts-"+tc.name, func(t *testing.T) { accountsWatchAfterClusterGrantRevoked(t, tc.verbs) })
	}
}

// clusterGrant gives user verbs on resource in group through a ClusterRole and a
// ClusterRoleBinding named name, deleted when the test ends, and returns a function that
// deletes the binding.
func clusterGrant(t *testing.T, admin framework.Clients, name, user, group, resource string, verbs []string) func() {
	t.Helper()
	ctx := context.Background()
	clusterRoles := admin.Kube.RbacV1().ClusterRoles()
	_, err := clusterRoles.Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules: []rbacv1.PolicyRule{{Verbs: verbs, APIGroups: []string{group}, Resources: []string{resource}}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		deleted(t, "ClusterRole "+name, clusterRoles.Delete(context.Background(), name, metav1.DeleteOptions{}))
	})
	bindings := admin.Kube.RbacV1().ClusterRoleBindings()
	_, err = bindings.Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
		Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: user}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		deleted(t, "ClusterRoleBinding "+name, bindings.Delete(context.Background(), name, metav1.DeleteOptions{}))
	})
	return func() { require.NoError(t, bindings.Delete(ctx, name, metav1.DeleteOptions{})) }
}

// containsAll reports whether names holds every one of want.
func containsAll(names, want []string) bool {
	return !slices.ContainsFunc(want, func(n string) bool { return !slices.Contains(names, n) })
}

// revokeUnderWatch runs revoke and reads the watch until it reported DELETED for every one
// of gone, within a second each; it fails at a DELETED of stay.
func revokeUnderWatch(t *testing.T, w watch.Interface, revoke func(), gone []string, stay string) {
	t.Helper()
	start := time.Now()
	revoke()
	at := map[string]time.Duration{}
	timeout := time.After(10 * time.Second)
	for len(at) < len(gone) {
		select {
		case ev, ok := <-w.ResultChan():
			require.True(t, ok, "the watch ended")
			name := eventName(t, ev)
			if ev.Type == watch.Deleted {
				require.NotEqual(t, stay, name, "what the user sees through their own Account is deleted from the watch")
				if slices.Contains(gone, name) {
					at[name] = time.Since(start)
				}
			}
		case <-timeout:
			t.Fatalf("no DELETED for %v within 10s of the ClusterRoleBinding's deletion; got %v", gone, at)
		}
	}
	for name, elapsed := range at {
		t.Logf("DELETED %s after %s", name, elapsed)
		assert.Less(t, elapsed, time.Second, "DELETED %s", name)
	}
}

func eventName(t *testing.T, ev watch.Event) string {
	t.Helper()
	m, ok := ev.Object.(metav1.Object)
	require.True(t, ok, "event %v", ev)
	return m.GetName()
}

func spacesWatchAfterClusterGrantRevoked(t *testing.T, verbs []string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	admin := cluster.AdminClients(t)
	me, acct := framework.UniqueName("hole-watch-me"), framework.UniqueName("hole-watch")
	own, others := acct+"-own", []string{acct + "-x", acct + "-y"}

	cluster.Admin().Apply(t, accountYAML(acct, me, "")).Success(t)
	grantKioskEdit(t, admin, acct+"-edit", me)
	t.Cleanup(func() {
		cluster.Admin().Run(t, "delete", "namespace", own, "--wait=false", "--ignore-not-found").Deleted(t)
		cluster.Admin().Run(t, "delete", "accounts.config.kiosk.sh", acct, "--ignore-not-found").Deleted(t)
	})
	cluster.As(me).Apply(t, space(own, acct)).Success(t)
	labelledNamespaces(t, admin, "someone-else", others...)
	revoke := clusterGrant(t, admin, acct, me, "", "namespaces", verbs)

	spaces := cluster.ClientsAs(t, me).Kiosk.TenancyV1alpha1().Spaces()
	var list *tenancyv1alpha1.SpaceList
	eventually(t, "the user sees every Space", func(ctx context.Context) bool {
		var err error
		if list, err = spaces.List(ctx, metav1.ListOptions{}); err != nil {
			return false
		}
		var names []string
		for _, s := range list.Items {
			names = append(names, s.Name)
		}
		return containsAll(names, append([]string{own}, others...))
	})
	w, err := spaces.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	require.NoError(t, err)
	defer w.Stop()
	revokeUnderWatch(t, w, revoke, others, own)

	// The watch goes on, follows the user's own Space, and reports the revocation of a
	// RoleBinding as it reported the ClusterRoleBinding's.
	_, err = admin.Kube.CoreV1().Namespaces().Patch(ctx, own, "application/merge-patch+json",
		[]byte(fmt.Sprintf(`{"metadata":{"labels":{%q:"yes"}}}`, acct)), metav1.PatchOptions{})
	require.NoError(t, err)
	until(t, w, own, watch.Modified, others)
	rbac := admin.Kube.RbacV1().RoleBindings(others[0])
	_, err = rbac.Create(ctx, viewBinding("watcher", me), metav1.CreateOptions{})
	require.NoError(t, err)
	until(t, w, others[0], watch.Added, nil)
	start := time.Now()
	require.NoError(t, rbac.Delete(ctx, "watcher", metav1.DeleteOptions{}))
	until(t, w, others[0], watch.Deleted, nil)
	elapsed := time.Since(start)
	t.Logf("DELETED %s after %s, by a RoleBinding's deletion", others[0], elapsed)
	assert.Less(t, elapsed, time.Second, "DELETED %s by a RoleBinding's deletion", others[0])
}

func accountsWatchAfterClusterGrantRevoked(t *testing.T, verbs []string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	admin := cluster.AdminClients(t)
	me, own := framework.UniqueName("hole-watch-me"), framework.UniqueName("hole-watch")
	others := []string{own + "-x", own + "-y"}
	for _, a := range append([]string{own}, others...) {
		subject := "someone-else"
		if a == own {
			subject = me
		}
		cluster.Admin().Apply(t, accountYAML(a, subject, "")).Success(t)
		t.Cleanup(func() {
			cluster.Admin().Run(t, "delete", "accounts.config.kiosk.sh", a, "--ignore-not-found").Deleted(t)
		})
	}
	revoke := clusterGrant(t, admin, own, me, "config.kiosk.sh", "accounts", verbs)

	accounts := cluster.ClientsAs(t, me).Kiosk.TenancyV1alpha1().Accounts()
	var list *tenancyv1alpha1.AccountList
	eventually(t, "the user sees every Account", func(ctx context.Context) bool {
		var err error
		if list, err = accounts.List(ctx, metav1.ListOptions{}); err != nil {
			return false
		}
		var names []string
		for _, a := range list.Items {
			names = append(names, a.Name)
		}
		return containsAll(names, append([]string{own}, others...))
	})
	w, err := accounts.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	require.NoError(t, err)
	defer w.Stop()
	revokeUnderWatch(t, w, revoke, others, own)

	// The watch goes on, and follows the user's own Account.
	cluster.Admin().Run(t, "label", "accounts.config.kiosk.sh", own, "followed=yes").Success(t)
	until(t, w, own, watch.Modified, others)
}

// until reads the watch until it reports typ for name. It fails on the way at any other
// DELETED of name, or an ADDED of one of revoked.
func until(t *testing.T, w watch.Interface, name string, typ watch.EventType, revoked []string) {
	t.Helper()
	for {
		select {
		case ev, ok := <-w.ResultChan():
			require.True(t, ok, "the watch ended")
			got := eventName(t, ev)
			if ev.Type == typ && got == name {
				return
			}
			require.False(t, ev.Type == watch.Deleted && got == name, "%s is deleted from the watch", name)
			require.False(t, ev.Type == watch.Added && slices.Contains(revoked, got), "a revoked object comes back: %s", got)
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s for %s", typ, name)
		}
	}
}
