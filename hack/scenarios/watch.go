package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/scenarios"
)

type watchScenario struct {
	watchers, rounds int
	seed             uint64
}

func newWatch(fs *flag.FlagSet) *watchScenario {
	w := &watchScenario{}
	fs.IntVar(&w.watchers, "watchers", 1000, "concurrent Space watches, one per user (and as many namespace watches)")
	fs.IntVar(&w.rounds, "rounds", 100, "rounds of grant, label change, revoke, label change")
	fs.Uint64Var(&w.seed, "seed", uint64(time.Now().UnixNano()), "seed of the random choice of users and namespaces")
	return w
}

func (w *watchScenario) run(ctx context.Context, env *scenarios.Env, p scenarios.Population, workers int, _ string) (*scenarios.Report, error) {
	if err := scenarios.Populate(ctx, env, p, workers); err != nil {
		return nil, err
	}
	res, err := scenarios.Watch(ctx, env, p, w.watchers, w.rounds, w.seed)
	if err != nil {
		return nil, err
	}
	r := scenarios.NewReport("watch", fmt.Sprintf("%d Space watches through kube-apiserver, one per user, against %d namespace watches; %d namespaces; seed %d",
		w.watchers, w.watchers, p.Namespaces, w.seed))
	r.Timing(&res.Space)
	r.Timing(&res.Namespace)
	r.Ratio("Space event / namespace event", &res.Space, &res.Namespace)
	r.Timing(&res.Barrier)
	r.Linef("  tenancy-apiserver CPU: %s over %d RoleBinding changes: %.2f ms per change (label changes included, which it ignores)",
		res.ServerCPU, res.RBACChanges, float64(res.ServerCPU.Microseconds())/1000/float64(max(res.RBACChanges, 1)))
	r.Linef("  kube-apiserver CPU meanwhile: %s (%d RoleBinding and %d label writes)", res.KubeAPIServerCPU, res.RBACChanges, len(res.Namespace.D))
	r.Linef("  missing events: %d; unexpected events: %d", len(res.Missing), len(res.Unexpected))
	r.Linef("  tenants' API priority and fairness seats executing in the server with every watch open: %d", res.TenantSeats)
	for _, m := range res.Missing[:min(len(res.Missing), 10)] {
		r.Linef("    missing %s", m)
	}
	for _, u := range res.Unexpected[:min(len(res.Unexpected), 10)] {
		r.Linef("    unexpected %s", u)
	}
	r.Goal("RBAC write → event p99, ms", float64(res.Space.P99().Microseconds())/1000, 100)
	r.Goal("events at unaffected watchers", float64(len(res.Unexpected)), 0)
	r.Goal("expected events missing", float64(len(res.Missing)), 0)
	r.Goal("tenant seats executing with every watch open (other requests only)", float64(res.TenantSeats), 5)
	return r, nil
}
