package framework

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/version"
	"k8s.io/client-go/discovery"
)

// Build is a tenancy-apiserver build as make build stamps it: the commit of the work tree and
// whether the tree had changes that commit lacks (untracked files included).
type Build struct {
	Commit string
	Dirty  bool
}

// TreeState is the build's gitTreeState, as /version serves it: "clean" or "dirty".
func (b Build) TreeState() string {
	if b.Dirty {
		return "dirty"
	}
	return "clean"
}

func (b Build) String() string {
	if b.Dirty {
		return "commit " + b.Commit + " with uncommitted changes"
	}
	return "commit " + b.Commit
}

// CurrentBuild is the build of the repository's work tree now: git rev-parse HEAD, and
// git status --porcelain for the tree state, as the Makefile reads them.
func (c *Cluster) CurrentBuild() (Build, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	head, err := c.git(ctx, "rev-parse", "HEAD")
	if err != nil {
		return Build{}, err
	}
	status, err := c.git(ctx, "status", "--porcelain")
	if err != nil {
		return Build{}, err
	}
	return Build{Commit: strings.TrimSpace(head), Dirty: strings.TrimSpace(status) != ""}, nil
}

func (c *Cluster) git(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = c.Root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s in %s: %w: %s", strings.Join(args, " "), c.Root, err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// BinaryPath is the tenancy-apiserver binary hack/local-up.sh and hack/lib/tenancy-apiserver.sh
// start: make build's output.
func (c *Cluster) BinaryPath() string {
	if dir := os.Getenv("OUTPUT_BIN"); dir != "" {
		return filepath.Join(dir, "tenancy-apiserver")
	}
	return filepath.Join(c.Root, "_output", "bin", "tenancy-apiserver")
}

// ServedVersion is what the replica answers on /version.
func (r *Replica) ServedVersion(ctx context.Context) (*version.Info, error) {
	cfg := r.Config()
	cfg.Timeout = 10 * time.Second
	d, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("replica %d: %w", r.Index, err)
	}
	v, err := d.ServerVersion()
	if err != nil {
		return nil, fmt.Errorf("replica %d: reading /version: %w", r.Index, err)
	}
	return v, nil
}

// staleness says why a replica serving served, whose running executable is (or is not, when
// sameBinary is false) the built binary, is not the build want; "" when it is. A clean tree's
// commit names its code; a dirty tree's does not, so then the executable must be the one
// built last as well.
func staleness(want Build, served *version.Info, sameBinary bool) string {
	switch {
	case served.GitCommit != want.Commit:
		return fmt.Sprintf("it serves commit %q, the work tree is at %s", served.GitCommit, want.Commit)
	case served.GitTreeState != want.TreeState():
		return fmt.Sprintf("it was built from a %s tree at %s, the work tree is %s", served.GitTreeState, want.Commit, want.TreeState())
	case want.Dirty && !sameBinary:
		return "the work tree has uncommitted changes and its executable is not the binary built last"
	}
	return ""
}

// sameContent reports whether two files hold the same bytes; the same file trivially does.
func sameContent(a, b string) (bool, error) {
	ia, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	ib, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	if os.SameFile(ia, ib) {
		return true, nil
	}
	if ia.Size() != ib.Size() {
		return false, nil
	}
	ha, err := fileSum(a)
	if err != nil {
		return false, err
	}
	hb, err := fileSum(b)
	if err != nil {
		return false, err
	}
	return bytes.Equal(ha, hb), nil
}

func fileSum(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read only: closing cannot lose data
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return h.Sum(nil), nil
}

// stale says why the replica does not run the build want from binary, "" when it does.
func (r *Replica) stale(ctx context.Context, want Build, binary string) (string, error) {
	pid := r.PID()
	if pid == 0 || !running(pid) {
		return "it is not running", nil
	}
	served, err := r.ServedVersion(ctx)
	if err != nil {
		return "", err
	}
	// /proc/PID/exe is the executable the process runs, even after make build replaced the
	// file it was started from.
	same, err := sameContent(fmt.Sprintf("/proc/%d/exe", pid), binary)
	if err != nil {
		return "", fmt.Errorf("replica %d: comparing its executable with %s: %w", r.Index, binary, err)
	}
	return staleness(want, served, same), nil
}

// ensureCurrent restarts, with the default flags, every replica that does not run the build of
// the work tree from the built binary, and fails when the binary itself is not that build.
func (c *Cluster) ensureCurrent(ctx context.Context, out io.Writer, replicas int) error {
	want, err := c.CurrentBuild()
	if err != nil {
		return err
	}
	binary := c.BinaryPath()
	restarted := false
	for i := range replicas {
		r := c.Replica(i)
		reason, err := r.stale(ctx, want, binary)
		if err != nil {
			return err
		}
		if reason == "" {
			continue
		}
		fmt.Fprintf(out, "e2e: restarting tenancy-apiserver-%d on %s: %s\n", i, binary, reason)
		var log bytes.Buffer
		if err := r.script(ctx, &log, "restart"); err != nil {
			return fmt.Errorf("restarting tenancy-apiserver-%d: %w\n%s", i, err, log.String())
		}
		restarted = true
		if reason, err = r.stale(ctx, want, binary); err != nil {
			return err
		}
		if reason != "" {
			return fmt.Errorf("tenancy-apiserver-%d restarted on %s is not the work tree's build (%s): %s; run make build",
				i, binary, want, reason)
		}
	}
	if restarted {
		return c.WaitAPIServicesAvailable(ctx, 2*time.Minute)
	}
	return nil
}
