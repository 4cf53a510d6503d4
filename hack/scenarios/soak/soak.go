// Package soak is a long-running churn workload against tenancy-apiserver behind kube-apiserver,
// with a checker that compares, the whole time, what the server answers with the truth:
//
//   - tenants (Accounts with a space limit, an AccountQuota on Pods and ConfigMaps, and a
//     mandatory TemplateInstance that follows its Template) create and delete Spaces, Pods and
//     ConfigMaps as their users;
//   - RoleBindings and ClusterRoleBindings granting other users and groups the Spaces come and go;
//   - the Template changes, and every Space's copy of it must follow;
//   - every few seconds the churn pauses, and the checker waits, within a deadline, for every
//     user's Space list to equal what SubjectAccessReview allows, for every AccountQuota's usage
//     to equal the objects counted in its Spaces, and for every Space to hold the current
//     Template. What is still different at the deadline is a mismatch.
//
// Meanwhile it samples the server's resident memory, its Go heap (live, in use, released to the
// OS) and goroutines, takes heap profiles when the warm-up ends and when the churn ends, and
// counts every request and its errors. Run returns a Report; WriteReport writes it as JSON and
// Markdown, with the profiles.
package soak

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
)

// Config is what Run needs.
type Config struct {
	// Admin reaches kube-apiserver as a cluster admin; users are impersonated from it.
	Admin *rest.Config
	// Server reaches tenancy-apiserver itself, for its /metrics (go_goroutines, the Go heap)
	// and its heap profiles (/debug/pprof/heap).
	Server *rest.Config
	// ServerPID returns the process ID of the tenancy-apiserver to sample (its RSS).
	ServerPID func() int
	// Duration is how long the churn runs.
	Duration time.Duration
	// Prefix starts the name of every object the run makes, so runs do not collide.
	Prefix string
	// Tenants is the number of Accounts (default 4).
	Tenants int
	// Viewers is the number of other users granted Spaces at random (default 6).
	Viewers int
	// CheckEvery is the pause between two checks (default 10s).
	CheckEvery time.Duration
	// SampleEvery is the pause between two samples of RSS and goroutines (default 10s).
	SampleEvery time.Duration
	// Settle bounds how long a check waits for the server to agree with the truth (default 20s).
	Settle time.Duration
	// Seed makes the churn reproducible; 0 picks one from the clock.
	Seed uint64
	// Log receives progress lines.
	Log func(format string, args ...any)
}

// Limits of each tenant.
const (
	spaceLimit     = 3
	podQuota       = 6
	configMapQuota = 16
)

func (c *Config) defaults() error {
	if c.Admin == nil || c.Server == nil || c.ServerPID == nil {
		return errors.New("soak: Admin, Server and ServerPID are required")
	}
	if c.Duration <= 0 {
		return fmt.Errorf("soak: the duration must be positive, not %s", c.Duration)
	}
	if c.Prefix == "" {
		c.Prefix = "soak"
	}
	if c.Tenants == 0 {
		c.Tenants = 4
	}
	if c.Viewers == 0 {
		c.Viewers = 6
	}
	if c.CheckEvery == 0 {
		c.CheckEvery = 10 * time.Second
	}
	if c.SampleEvery == 0 {
		c.SampleEvery = 10 * time.Second
	}
	if c.Settle == 0 {
		c.Settle = 20 * time.Second
	}
	if c.Seed == 0 {
		c.Seed = uint64(time.Now().UnixNano())
	}
	if c.Log == nil {
		c.Log = func(string, ...any) {}
	}
	return nil
}

// run is one soak run's state.
type run struct {
	cfg   Config
	admin clients
	// server reaches tenancy-apiserver directly.
	server kubernetes.Interface
	// pause is held shared by every churn operation and exclusively by the checker.
	pause sync.RWMutex
	stats *stats
	// tenants are the Accounts of the run.
	tenants []*tenant
	viewers []identity
	// templateVersion is the Template's current version, written by the template churn.
	mu              sync.Mutex
	templateVersion int
	report          *Report
}

type clients struct {
	kube  kubernetes.Interface
	kiosk versioned.Interface
}

func newClients(cfg *rest.Config) (clients, error) {
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return clients{}, err
	}
	kiosk, err := versioned.NewForConfig(cfg)
	if err != nil {
		return clients{}, err
	}
	return clients{kube: kube, kiosk: kiosk}, nil
}

// identity is a user, with groups, as kube-apiserver authenticates an impersonated request.
type identity struct {
	User   string
	Groups []string
}

// Run sets up the tenants, churns for the configured duration while checking, removes what it
// made, and reports. The error is for a run that could not be done; mismatches are in the
// Report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	admin := rest.CopyConfig(cfg.Admin)
	admin.QPS, admin.Burst = -1, 0
	ac, err := newClients(admin)
	if err != nil {
		return nil, err
	}
	server, err := kubernetes.NewForConfig(rest.CopyConfig(cfg.Server))
	if err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, admin: ac, server: server, stats: newStats(), templateVersion: 1,
		report: &Report{Prefix: cfg.Prefix, Seed: cfg.Seed, Duration: cfg.Duration.String(), Started: time.Now().UTC()}}
	cfg.Log("soak %s: seed %d, %d tenants, %d viewers, %s", cfg.Prefix, cfg.Seed, cfg.Tenants, cfg.Viewers, cfg.Duration)
	defer r.cleanup()
	if err := r.setup(ctx); err != nil {
		return nil, fmt.Errorf("soak: setting up: %w", err)
	}

	churnCtx, stop := context.WithTimeout(ctx, cfg.Duration)
	defer stop()
	var wg sync.WaitGroup
	seed := cfg.Seed
	start := func(f func(ctx context.Context, rnd *rand.Rand)) {
		seed++
		rnd := rand.New(rand.NewPCG(seed, 7))
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(churnCtx, rnd)
		}()
	}
	for _, t := range r.tenants {
		start(func(ctx context.Context, rnd *rand.Rand) { r.churnSpaces(ctx, rnd, t) })
		start(func(ctx context.Context, rnd *rand.Rand) { r.churnObjects(ctx, rnd, t) })
	}
	start(r.churnRBAC)
	start(r.churnTemplate)
	wg.Add(2)
	go func() { defer wg.Done(); r.sample(churnCtx) }()
	go func() { defer wg.Done(); r.checkLoop(churnCtx) }()
	wg.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	// A last check once the churn has stopped, and the heap as the churn left it.
	r.check(ctx)
	r.report.EndHeap = r.heapProfile(ctx)
	r.report.finish(r.stats, cfg.Duration)
	return r.report, nil
}

// pausable runs one churn operation unless the checker holds the pause.
func (r *run) pausable(f func()) {
	r.pause.RLock()
	defer r.pause.RUnlock()
	f()
}

// sleep waits d or until ctx ends, and reports whether ctx is still going.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// jitter is a pause between min and max.
func jitter(rnd *rand.Rand, min, max time.Duration) time.Duration {
	return min + time.Duration(rnd.Int64N(int64(max-min)))
}
