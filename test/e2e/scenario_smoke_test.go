package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/scenarios"
)

// TestScenarioSmoke runs the list and watch scenarios of hack/scenarios at a small scale
// (500 namespaces, 50 watchers) for their correctness, not their timings: the lister lists
// exactly its 10 Spaces every time, every watcher's first list holds exactly the Spaces its
// RoleBindings grant, each grant and revocation reaches the affected watcher's watch as one
// ADDED or DELETED, and no other watcher gets any event.
func TestScenarioSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	env, err := scenarios.NewEnv(cluster.Root, cluster.Dir, testWriter{t})
	require.NoError(t, err)
	p := scenarios.Population{Prefix: framework.UniqueName("smoke"), Namespaces: 500, RoleBindings: 250,
		ClusterRoleBindings: 50, Users: 50, Accounts: 10}
	t.Cleanup(func() {
		require.NoError(t, scenarios.Depopulate(context.Background(), env, p, 8))
	})
	require.NoError(t, scenarios.Populate(ctx, env, p, 8))

	list, err := scenarios.List(ctx, env, p, 5)
	require.NoError(t, err)
	require.Len(t, list.Spaces.D, 5)

	const watchers, rounds = 50, 10
	w, err := scenarios.Watch(ctx, env, p, scenarios.WatchSettings{Watchers: watchers, Rounds: rounds, Seed: uint64(time.Now().UnixNano())})
	require.NoError(t, err)
	require.Empty(t, w.Missing, "expected events that never came")
	require.Empty(t, w.Unexpected, "events no change explains")
	require.Len(t, w.Space.D, 2*rounds, "one event per grant and per revocation")
	require.Len(t, w.RoleBinding.D, 2*rounds, "the plain RoleBinding watch saw every grant and revocation")
	require.Len(t, w.Namespace.D, 2*rounds, "kube-apiserver's own watches saw every label change")
	require.Len(t, w.Barrier.D, watchers, "the last RoleBinding reached every watcher")
}

// TestWatchFanOut holds 200 Space watches open through kube-apiserver at once, more than
// the tenants' share of the server's API priority and fairness seats, and more than the 100
// streams of one HTTP/2 connection that the aggregation layer would otherwise be allowed: every
// watch opens, an open watch holds no seat, and every grant and revocation reaches its
// watcher and no other.
func TestWatchFanOut(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	env, err := scenarios.NewEnv(cluster.Root, cluster.Dir, testWriter{t})
	require.NoError(t, err)
	const watchers, rounds = 200, 5
	p := scenarios.Population{Prefix: framework.UniqueName("fanout"), Namespaces: 300, RoleBindings: 400,
		ClusterRoleBindings: 20, Users: watchers, Accounts: 10}
	t.Cleanup(func() {
		require.NoError(t, scenarios.Depopulate(context.Background(), env, p, 8))
	})
	require.NoError(t, scenarios.Populate(ctx, env, p, 8))

	w, err := scenarios.Watch(ctx, env, p, scenarios.WatchSettings{Watchers: watchers, Rounds: rounds, Seed: uint64(time.Now().UnixNano())})
	require.NoError(t, err)
	// An open watch that held its seat would hold one of the level's few dozen each; the few
	// left are other requests of the level in flight, such as the aggregator's OpenAPI fetches.
	require.Less(t, w.TenantSeats, 20, "open Space watches hold seats of the tenants' priority level")
	require.Empty(t, w.Missing, "expected events that never came")
	require.Empty(t, w.Unexpected, "events no change explains")
	require.Len(t, w.Space.D, 2*rounds, "one event per grant and per revocation")
	require.Len(t, w.Barrier.D, watchers, "the last RoleBinding reached every watcher")
}

// testWriter sends progress lines to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(string(b))
	return len(b), nil
}
