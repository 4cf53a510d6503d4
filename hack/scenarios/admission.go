package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/scenarios"
)

// noopCommand makes this program serve the admission scenario's no-op webhooks in a process
// of their own: scenarios noop-webhook CA-FILE.
const noopCommand = "noop-webhook"

// admissionPrefix starts the names of what the admission scenario creates.
const admissionPrefix = "scn-adm"

type admission struct {
	callers, rounds, perRound int
	keep                      bool
}

func newAdmission(fs *flag.FlagSet) *admission {
	a := &admission{}
	fs.IntVar(&a.callers, "callers", 50, "concurrent callers")
	fs.IntVar(&a.rounds, "rounds", 5, "rounds; in each the three namespaces take their turn")
	fs.IntVar(&a.perRound, "per-round", 200, "Pods created in each namespace per round")
	fs.BoolVar(&a.keep, "keep", false, "keep the namespaces, Pods and webhooks afterwards")
	return a
}

func (a *admission) run(ctx context.Context, env *scenarios.Env, _ scenarios.Population, _ int, _ string) (*scenarios.Report, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	res, err := scenarios.Admission(ctx, env, admissionPrefix, a.callers, a.rounds, a.perRound, []string{self, noopCommand})
	if !a.keep {
		if cerr := scenarios.CleanupAdmission(context.WithoutCancel(ctx), env, admissionPrefix); cerr != nil && err == nil {
			err = cerr
		}
	}
	if err != nil {
		return nil, err
	}
	r := scenarios.NewReport("admission", fmt.Sprintf("Pod creates through kube-apiserver, %d callers, %d rounds of %d per namespace in turns; baseline webhooks: %s",
		a.callers, a.rounds, a.perRound, strings.Join(res.Webhooks, ", ")))
	r.Timing(&res.AccountQuota)
	r.Timing(&res.Noop)
	r.Timing(&res.ResourceQuota)
	p50, p99 := r.Ratio("AccountQuota / no-op webhooks", &res.AccountQuota, &res.Noop)
	r.Ratio("ResourceQuota / no-op webhooks", &res.ResourceQuota, &res.Noop)
	r.Ratio("AccountQuota / ResourceQuota", &res.AccountQuota, &res.ResourceQuota)
	r.Linef("  no-op webhook reviews answered: %d (%d Pods)", res.NoopCalls, len(res.Noop.D))
	r.Goal("AccountQuota / no-op at p50", p50, 1.15)
	r.Goal("AccountQuota / no-op at p99", p99, 1.15)
	return r, nil
}
