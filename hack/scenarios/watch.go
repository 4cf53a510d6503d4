package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/scenarios"
)

type watchScenario struct {
	watchers, rounds int
	seed             uint64
	profile          bool
	idle             time.Duration
}

func newWatch(fs *flag.FlagSet) *watchScenario {
	w := &watchScenario{}
	fs.IntVar(&w.watchers, "watchers", 1000, "concurrent Space watches, one per user (and as many namespace watches)")
	fs.IntVar(&w.rounds, "rounds", 100, "rounds of grant, label change, revoke, label change")
	fs.Uint64Var(&w.seed, "seed", uint64(time.Now().UnixNano()), "seed of the random choice of users and namespaces")
	fs.DurationVar(&w.idle, "idle", 20*time.Second, "how long the open watches are left alone before the rounds, the server's CPU measured meanwhile")
	fs.BoolVar(&w.profile, "profile", true, "profile the server's CPU while idle and during the rounds (saved as watch-cpu.pb.gz)")
	return w
}

func (w *watchScenario) run(ctx context.Context, env *scenarios.Env, p scenarios.Population, workers int, out string) (*scenarios.Report, error) {
	if err := scenarios.Populate(ctx, env, p, workers); err != nil {
		return nil, err
	}
	settings := scenarios.WatchSettings{Watchers: w.watchers, Rounds: w.rounds, Seed: w.seed, Idle: w.idle}
	var cpu cpuProfile
	if w.profile {
		settings.During = cpu.start(env)
	}
	res, err := scenarios.Watch(ctx, env, p, settings)
	if err != nil {
		return nil, err
	}
	r := scenarios.NewReport("watch", fmt.Sprintf("%d Space watches through kube-apiserver, one per user, against %d namespace watches; %d namespaces; seed %d",
		w.watchers, w.watchers, p.Namespaces, w.seed))
	r.Timing(&res.Space)
	r.Timing(&res.RoleBinding)
	r.Timing(&res.Added)
	r.Ratio("Space event / RoleBinding event (floor)", &res.Space, &res.RoleBinding)
	r.Timing(&res.Namespace)
	r.Ratio("Space event / namespace event", &res.Space, &res.Namespace)
	r.Timing(&res.Barrier)
	r.Linef("  tenancy-apiserver CPU from that binding's write to its last ADDED: %s", res.BarrierCPU)
	r.Linef("  tenancy-apiserver CPU: %s over %d RoleBinding changes: %.2f ms per change (label changes included, which it ignores)",
		res.ServerCPU, res.RBACChanges, float64(res.ServerCPU.Microseconds())/1000/float64(max(res.RBACChanges, 1)))
	if w.idle > 0 {
		r.Linef("  tenancy-apiserver CPU with every watch open and nothing changing: %s over %s (%.1f ms/s)",
			res.IdleCPU, w.idle, float64(res.IdleCPU.Microseconds())/1000/w.idle.Seconds())
	}
	r.Linef("  kube-apiserver CPU meanwhile: %s (%d RoleBinding and %d label writes)", res.KubeAPIServerCPU, res.RBACChanges, len(res.Namespace.D))
	r.Linef("  missing events: %d; unexpected events: %d", len(res.Missing), len(res.Unexpected))
	r.Linef("  tenants' API priority and fairness seats executing in the server with every watch open: %d", res.TenantSeats)
	for _, m := range res.Missing[:min(len(res.Missing), 10)] {
		r.Linef("    missing %s", m)
	}
	for _, u := range res.Unexpected[:min(len(res.Unexpected), 10)] {
		r.Linef("    unexpected %s", u)
	}
	if w.profile {
		cpu.report(ctx, r, out)
	}
	r.Goal("RBAC write → event p99, ms", float64(res.Space.P99().Microseconds())/1000, 100)
	r.Goal("events at unaffected watchers", float64(len(res.Unexpected)), 0)
	r.Goal("expected events missing", float64(len(res.Missing)), 0)
	r.Goal("tenant seats executing with every watch open (other requests only)", float64(res.TenantSeats), 5)
	return r, nil
}

// cpuProfile takes the server's CPU profile over the rounds, in pieces of a few seconds
// (a profile of /debug/pprof/profile has its length fixed when it starts).
type cpuProfile struct {
	pieces [][]byte
	errs   []error
}

const cpuPiece = 5 * time.Second

func (c *cpuProfile) start(env *scenarios.Env) func(context.Context) func() {
	return func(ctx context.Context) func() {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				data, err := env.ServerGet(ctx, fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(cpuPiece.Seconds())))
				if err != nil {
					c.errs = append(c.errs, err)
				} else {
					c.pieces = append(c.pieces, data)
				}
				select {
				case <-stop:
					return
				case <-ctx.Done():
					return
				default:
				}
			}
		}()
		return func() {
			close(stop)
			wg.Wait()
		}
	}
}

// report merges the pieces into out/watch-cpu.pb.gz and adds the top of it to r.
func (c *cpuProfile) report(ctx context.Context, r *scenarios.Report, out string) {
	for _, err := range c.errs {
		r.Linef("  (CPU profile: %v)", err)
	}
	if len(c.pieces) == 0 {
		return
	}
	dir, err := os.MkdirTemp("", "watch-cpu")
	if err != nil {
		r.Linef("  (CPU profile: %v)", err)
		return
	}
	defer func() { _ = os.RemoveAll(dir) }()
	args := []string{"tool", "pprof", "-proto"}
	for i, piece := range c.pieces {
		path := filepath.Join(dir, fmt.Sprintf("cpu-%03d.pb.gz", i))
		if err := os.WriteFile(path, piece, 0o644); err != nil {
			r.Linef("  (CPU profile: %v)", err)
			return
		}
		args = append(args, path)
	}
	merged, err := exec.CommandContext(ctx, "go", args...).Output()
	if err == nil {
		err = os.MkdirAll(out, 0o755)
	}
	path := filepath.Join(out, "watch-cpu.pb.gz")
	if err == nil {
		err = os.WriteFile(path, merged, 0o644)
	}
	if err != nil {
		r.Linef("  (CPU profile: %v)", err)
		return
	}
	top, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=25", path).Output()
	if err != nil {
		r.Linef("  (go tool pprof: %v)", err)
		return
	}
	r.Linef("CPU profile of the server over the rounds: %s", path)
	for _, line := range strings.Split(strings.TrimSpace(string(top)), "\n") {
		r.Linef("  %s", line)
	}
}
