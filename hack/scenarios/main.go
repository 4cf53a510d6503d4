// Command scenarios measures tenancy-apiserver on the running local control plane
// (make local-up) against baselines taken in the same run, and writes each report to
// _output/scenarios/<scenario>.txt as well as printing it:
//
//	go run ./hack/scenarios list       the lister's Spaces at two scales, against the floor
//	go run ./hack/scenarios watch      the watch fan-out of RBAC changes
//	go run ./hack/scenarios admission  Pod creates under AccountQuota, against no-op webhooks
//	go run ./hack/scenarios restart    process start to /readyz, against the informers alone
//	go run ./hack/scenarios clean      delete what the scenarios created
//
// LOCAL_DIR selects the control plane (default _output/local). Run with -h for each
// scenario's flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/scenarios"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: scenarios list|watch|admission|restart|clean [flags]")
		os.Exit(2)
	}
	if os.Args[1] == noopCommand && len(os.Args) == 3 {
		// The admission scenario's no-op webhooks, in a process of their own.
		if err := scenarios.ServeNoop(os.Args[2], os.Stdin, os.Stdout); err != nil {
			fmt.Fprintf(os.Stderr, "no-op webhook: %v\n", err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "scenario %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func run(ctx context.Context, name string, args []string) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	dir := fs.String("local-dir", envOr("LOCAL_DIR", filepath.Join(root, "_output", "local")), "the local control plane's directory")
	out := fs.String("out", filepath.Join(root, "_output", "scenarios"), "where reports and profiles are written")
	p := scenarios.Population{Prefix: "scn", RoleBindings: 5000, ClusterRoleBindings: 500, Users: 1000, Accounts: 1000}
	fs.StringVar(&p.Prefix, "prefix", p.Prefix, "prefix of the names of the population's objects")
	fs.IntVar(&p.Namespaces, "namespaces", 10000, "namespaces (Spaces) of the population")
	fs.IntVar(&p.RoleBindings, "rolebindings", p.RoleBindings, "RoleBindings of the population")
	fs.IntVar(&p.ClusterRoleBindings, "clusterrolebindings", p.ClusterRoleBindings, "ClusterRoleBindings of the population")
	fs.IntVar(&p.Users, "users", p.Users, "users the RoleBindings are spread over")
	fs.IntVar(&p.Accounts, "accounts", p.Accounts, "Accounts of the population")
	workers := fs.Int("workers", 16, "concurrent requests while populating")
	var s scenario
	switch name {
	case "list":
		s = newList(fs)
	case "watch":
		s = newWatch(fs)
	case "admission":
		s = newAdmission(fs)
	case "restart":
		s = newRestart(fs)
	case "clean":
		s = clean{}
	default:
		return fmt.Errorf("no scenario %q: list, watch, admission, restart or clean", name)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	env, err := scenarios.NewEnv(root, *dir, os.Stderr)
	if err != nil {
		return err
	}
	report, err := s.run(ctx, env, p, *workers, *out)
	if report != nil {
		path, werr := report.Write(os.Stdout, *out)
		if werr != nil {
			return werr
		}
		fmt.Fprintf(os.Stderr, "report written to %s\n", path)
	}
	return err
}

// scenario is one scenario's run, after its flags are parsed.
type scenario interface {
	run(ctx context.Context, env *scenarios.Env, p scenarios.Population, workers int, out string) (*scenarios.Report, error)
}

type clean struct{}

func (clean) run(ctx context.Context, env *scenarios.Env, p scenarios.Population, workers int, _ string) (*scenarios.Report, error) {
	if err := scenarios.CleanupAdmission(ctx, env, admissionPrefix); err != nil {
		return nil, err
	}
	return nil, scenarios.Depopulate(ctx, env, p, workers)
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
