package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/scenarios"
)

type restart struct{ rounds int }

func newRestart(fs *flag.FlagSet) *restart {
	r := &restart{}
	fs.IntVar(&r.rounds, "rounds", 5, "restarts, each after a baseline")
	return r
}

func (s *restart) run(ctx context.Context, env *scenarios.Env, p scenarios.Population, workers int, _ string) (*scenarios.Report, error) {
	if err := scenarios.Populate(ctx, env, p, workers); err != nil {
		return nil, err
	}
	res, err := scenarios.Restart(ctx, env, s.rounds)
	if err != nil {
		return nil, err
	}
	r := scenarios.NewReport("restart", fmt.Sprintf("replica 0 restarted %d times; %d namespaces, %d RoleBindings, %d ClusterRoleBindings, %d Accounts",
		s.rounds, p.Namespaces, p.RoleBindings+scenarios.ListerSpaces, p.ClusterRoleBindings, p.Accounts))
	r.Timing(&res.Ready)
	r.Timing(&res.Informers)
	p50, _ := r.Ratio("ready / informers synced", &res.Ready, &res.Informers)
	r.Linef("  tenancy-apiserver RSS once ready: %.1f MiB", scenarios.MiB(res.RSS))
	r.Goal("ready / informers synced, median", p50, 1.3)
	return r, nil
}
