package access

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// contents is what a snapshot holds, in a form two indexes can be compared by.
type contents struct {
	Objects    map[string]string // name -> resourceVersion
	Grants     map[string][]string
	Everything []string
	// The maps' own counts, which must agree with what they hold.
	Len, EverythingLen int
	GrantLens          map[string]int
}

func contentsOf[T comparable](s *Snapshot[T]) contents {
	c := contents{Objects: map[string]string{}, Grants: map[string][]string{}, GrantLens: map[string]int{},
		Len: s.objects.len(), EverythingLen: s.everything.len()}
	for name, obj := range s.objects.all() {
		rv := ""
		if o, ok := any(obj).(interface{ GetResourceVersion() string }); ok {
			rv = o.GetResourceVersion()
		}
		c.Objects[name] = rv
	}
	for key, names := range s.grants.all() {
		var list []string
		for name := range names.all() {
			list = append(list, name)
		}
		slices.Sort(list)
		c.Grants[key] = list
		c.GrantLens[key] = names.len()
	}
	for key := range s.everything.all() {
		c.Everything = append(c.Everything, key)
	}
	slices.Sort(c.Everything)
	return c
}

// requireSameIndex fails unless both indexes hold the same: the published snapshots of both
// views and the writer's reference counts behind them.
func requireSameIndex(t *testing.T, want, got *Index, what string) {
	t.Helper()
	for _, c := range []contents{contentsOf(got.Spaces().Snapshot()), contentsOf(got.Accounts().Snapshot()), contentsOf(&got.spaces.work)} {
		require.Len(t, c.Objects, c.Len, "object count after %s", what)
		require.Len(t, c.Everything, c.EverythingLen, "see-everything count after %s", what)
		for key, names := range c.Grants {
			require.NotEmpty(t, names, "empty grants of %s kept after %s", key, what)
			require.Len(t, names, c.GrantLens[key], "grant count of %s after %s", key, what)
		}
	}
	require.Equal(t, contentsOf(want.Spaces().Snapshot()), contentsOf(got.Spaces().Snapshot()), "Spaces after %s", what)
	require.Equal(t, contentsOf(want.Accounts().Snapshot()), contentsOf(got.Accounts().Snapshot()), "Accounts after %s", what)
	require.Equal(t, want.spaces.refs, got.spaces.refs, "Space grant counts after %s", what)
	require.Equal(t, want.spaces.everyRefs, got.spaces.everyRefs, "Space see-everything counts after %s", what)
	require.Equal(t, want.accounts.refs, got.accounts.refs, "Account grant counts after %s", what)
	require.Equal(t, want.accounts.everyRefs, got.accounts.everyRefs, "Account see-everything counts after %s", what)
	require.Equal(t, want.spaces.keysOf, got.spaces.keysOf, "Space subjects after %s", what)
	require.Equal(t, want.accounts.keysOf, got.accounts.keysOf, "Account subjects after %s", what)
	require.Equal(t, contentsOf(&want.spaces.work), contentsOf(&got.spaces.work), "Space work state after %s", what)
}

// An index that loads in place (Options.Load) and publishes at MarkReady holds exactly what
// one fed the same changes one published step at a time holds, and both then follow the same
// later changes alike. Watches opened while it loads see everything it loaded as ADDED.
func TestLoadedIndexEqualsIncremental(t *testing.T) {
	for seed := range uint64(16) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			gen := func() *generator {
				return &generator{
					r:          rand.New(rand.NewPCG(seed, 11)),
					namespaces: []string{"ns-0", "ns-1", "ns-2", "ns-3", "ns-4", "ns-5", "ns-6", "ns-7"},
					users:      []string{"u0", "u1", "u2", "u3", "u4"},
					groups:     []string{"g0", "g1", "system:authenticated"},
				}
			}
			newWorld := func() *world {
				return &world{namespaces: map[string]bool{}, accounts: map[string][]rbacv1.Subject{},
					clusterRoles: map[string]*rbacv1.ClusterRole{}, roles: map[string]*rbacv1.Role{},
					crbs: map[string]*rbacv1.ClusterRoleBinding{}, rbs: map[string]*rbacv1.RoleBinding{}}
			}
			gx, gy := gen(), gen()
			wx, wy := newWorld(), newWorld()
			var rx, ry rv
			x := New(Options{HistorySize: 64})
			y := New(Options{HistorySize: 64, Load: true})

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			followers := map[string]*follower{}
			for _, s := range gy.subjectsToCheck() {
				wi, err := y.Spaces().Watch(ctx, WatchOptions[*corev1.Namespace]{Subject: s, Convert: convertNamespace}, DefaultWatchConfig)
				require.NoError(t, err)
				followers[s.User] = &follower{t: t, w: wi, visible: map[string]bool{}}
			}

			loadSteps := 20 + int(seed)*25
			for i := range loadSteps {
				whatX, whatY := gx.mutate(wx, x, &rx), gy.mutate(wy, y, &ry)
				require.Equal(t, whatX, whatY, "step %d", i)
				require.Zero(t, y.Spaces().Snapshot().Len(), "a loading index publishes nothing")
				require.Zero(t, y.Spaces().Snapshot().Revision(), "a loading index publishes nothing")
				require.Zero(t, y.Accounts().Snapshot().Len(), "a loading index publishes nothing")
			}
			x.MarkReady()
			y.MarkReady()
			requireSameIndex(t, x, y, "loading")
			if y.Spaces().Snapshot().Len() > 0 {
				require.Equal(t, rx.n, max(rx.n, y.Spaces().Snapshot().Revision()), "published beyond the last revision loaded")
				require.Positive(t, y.Spaces().Snapshot().Revision())
			}
			for _, s := range gy.subjectsToCheck() {
				followers[s.User].catchUp(wy.spaces(s), "loading")
			}

			// After the first snapshot, every change is published as it is made, as in x.
			for i := range 200 {
				whatX, whatY := gx.mutate(wx, x, &rx), gy.mutate(wy, y, &ry)
				require.Equal(t, whatX, whatY, "step %d", i)
				requireSameIndex(t, x, y, whatY)
				for _, s := range gy.subjectsToCheck() {
					want := wy.spaces(s)
					require.Equal(t, want, y.Spaces().Snapshot().Names(s, false), "step %d (%s): spaces of %s", i, whatY, s.User)
					require.Equal(t, wy.accountNames(s), y.Accounts().Snapshot().Names(s, false), "step %d (%s): accounts of %s", i, whatY, s.User)
					followers[s.User].catchUp(want, whatY)
				}
			}
		})
	}
}

// Snapshots published before a change keep what they held: the first change after the
// loaded snapshot copies what it touches instead of writing into the published maps.
func TestLoadedSnapshotIsImmutable(t *testing.T) {
	x := New(Options{Load: true})
	var r rv
	x.UpsertClusterRole(clusterRole("view", r.next(), getRule("namespaces")))
	for i := range 200 {
		x.UpsertSpace(namespace(fmt.Sprintf("ns-%d", i), r.next()))
		x.UpsertRoleBinding(roleBinding(fmt.Sprintf("ns-%d", i), "rb", r.next(), "ClusterRole", "view", user("u")))
	}
	x.MarkReady()
	loaded := x.Spaces().Snapshot()
	before := contentsOf(loaded)
	u := Subject{User: "u"}
	require.Len(t, loaded.Names(u, false), 200)

	for i := range 100 {
		x.DeleteRoleBinding(fmt.Sprintf("ns-%d", i), "rb", r.next())
		x.DeleteSpace(fmt.Sprintf("ns-%d", 100+i), r.next())
		x.UpsertSpace(namespace(fmt.Sprintf("new-%d", i), r.next()))
	}
	require.Equal(t, before, contentsOf(loaded), "the loaded snapshot changed under its readers")
	require.Len(t, loaded.Names(u, false), 200)
	require.Empty(t, x.Spaces().Snapshot().Names(u, false))
}
