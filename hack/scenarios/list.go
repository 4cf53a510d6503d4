package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/scenarios"
)

type list struct {
	scales string
	runs   int
}

func newList(fs *flag.FlagSet) *list {
	l := &list{}
	fs.StringVar(&l.scales, "scales", "1000,10000", "namespace counts to measure at, smallest first (the population grows between them)")
	fs.IntVar(&l.runs, "runs", 200, "timed requests of each kind at each scale")
	return l
}

func (l *list) run(ctx context.Context, env *scenarios.Env, p scenarios.Population, workers int, out string) (*scenarios.Report, error) {
	var scales []int
	for _, s := range strings.Split(l.scales, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < scenarios.ListerSpaces {
			return nil, fmt.Errorf("-scales: %q is not a namespace count of at least %d", s, scenarios.ListerSpaces)
		}
		scales = append(scales, n)
	}
	have, err := scenarios.Existing(ctx, env, p)
	if err != nil {
		return nil, err
	}
	if have > scales[0] {
		return nil, fmt.Errorf("the population already has %d namespaces, more than %d: run make scenario-clean first", have, scales[0])
	}
	r := scenarios.NewReport("list", fmt.Sprintf("GET of a user's Spaces through kube-apiserver; %d RoleBindings, %d ClusterRoleBindings, %d Accounts; %d runs each, in turns",
		p.RoleBindings+scenarios.ListerSpaces, p.ClusterRoleBindings, p.Accounts, l.runs))
	pid := env.PID("tenancy-apiserver-0")
	var results []*scenarios.ListResult
	for _, n := range scales {
		p.Namespaces = n
		if err := scenarios.Populate(ctx, env, p, workers); err != nil {
			return nil, err
		}
		env.Logf("timing the list at %d namespaces", n)
		res, err := scenarios.List(ctx, env, p, l.runs)
		if err != nil {
			return nil, err
		}
		results = append(results, res)
		r.Linef("%d namespaces:", n)
		r.Timing(&res.Spaces)
		r.Timing(&res.Namespace)
		r.Timing(&res.AdminLimit10)
		p50, _ := r.Ratio("Spaces / the user's namespace GET", &res.Spaces, &res.Namespace)
		r.Ratio("Spaces / admin's namespaces?limit=10", &res.Spaces, &res.AdminLimit10)
		r.Goal(fmt.Sprintf("list median / namespace GET median at %d", n), p50, 1.2)
		if rss, err := scenarios.RSS(pid); err == nil {
			r.Linef("  tenancy-apiserver RSS: %.1f MiB", scenarios.MiB(rss))
		}
	}
	first, last := results[0], results[len(results)-1]
	if len(results) > 1 {
		scale := float64(first.Spaces.Median())
		floor := float64(first.Namespace.Median()) / float64(last.Namespace.Median())
		raw := float64(last.Spaces.Median()) / scale
		r.Linef("t(%d)/t(%d), list median: %.2f; each against its own floor: %.2f", scales[len(scales)-1], scales[0], raw, raw*floor)
		r.Goal(fmt.Sprintf("list median t(%d)/t(%d), against the floor", scales[len(scales)-1], scales[0]), raw*floor, 1.1)
	}
	if err := memory(ctx, env, r, pid, out, scales[len(scales)-1]); err != nil {
		return r, err
	}
	return r, nil
}

// memory adds replica 0's RSS, the Go runtime's view of its memory and the top of a heap
// profile to r, and saves the profile.
func memory(ctx context.Context, env *scenarios.Env, r *scenarios.Report, pid int, out string, n int) error {
	profile, err := env.ServerGet(ctx, "/debug/pprof/heap?gc=1")
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	rss, err := scenarios.RSS(pid)
	if err != nil {
		return err
	}
	r.Linef("memory at %d namespaces, after a garbage collection:", n)
	r.Linef("  tenancy-apiserver RSS: %.1f MiB", scenarios.MiB(rss))
	r.Goal(fmt.Sprintf("RSS at %d namespaces, MiB", n), scenarios.MiB(rss), 120)
	metrics, err := env.ServerGet(ctx, "/metrics")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(metrics), "\n") {
		for _, m := range []string{"go_memstats_heap_inuse_bytes ", "go_memstats_heap_alloc_bytes ", "go_memstats_stack_inuse_bytes ", "go_memstats_sys_bytes ", "go_goroutines "} {
			if v, ok := strings.CutPrefix(line, m); ok {
				f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
				if strings.HasSuffix(m, "_bytes ") {
					r.Linef("  %-40s %8.1f MiB", strings.TrimSpace(m), f/(1<<20))
				} else {
					r.Linef("  %-40s %8.0f", strings.TrimSpace(m), f)
				}
			}
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	path := filepath.Join(out, fmt.Sprintf("list-heap-%d.pb.gz", n))
	if err := os.WriteFile(path, profile, 0o644); err != nil {
		return err
	}
	r.Linef("heap profile: %s; top of inuse_space:", path)
	top, err := exec.CommandContext(ctx, "go", "tool", "pprof", "-top", "-nodecount=20", "-sample_index=inuse_space", path).Output()
	if err != nil {
		r.Linef("  (go tool pprof: %v)", err)
		return nil
	}
	for _, line := range strings.Split(strings.TrimSpace(string(top)), "\n") {
		r.Linef("  %s", line)
	}
	return nil
}
