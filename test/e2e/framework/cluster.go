// Package framework runs the end-to-end tests' local control plane (etcd, kube-apiserver,
// kube-controller-manager and tenancy-apiserver, started by hack/local-up.sh) and gives tests
// the real kubectl, client-go clients and control over tenancy-apiserver replicas.
package framework

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/localenv"
)

// Cluster is a running local control plane.
type Cluster struct {
	// Root is the repository root.
	Root string
	// Dir is the control plane's directory (_output/local): data, certificates, logs and PIDs.
	Dir string
	// Kubeconfig is the admin kubeconfig (user kubernetes-admin, group system:masters).
	Kubeconfig string
	// KubectlPath is the kubectl binary the tests run.
	KubectlPath string
	// Env holds the settings local-up.sh saved in Dir/env.
	Env map[string]string

	// env are the settings of the scripts that differ from the test's own environment:
	// Options.Env.
	env []string

	// startedHere is true when Setup started the control plane, so Teardown stops it.
	startedHere bool
	// replicas is the number of replicas hack/local-up.sh started.
	replicas int
	// nextReplica is the index StartReplica gives to the next extra replica.
	nextReplica int
}

// Options tune Setup.
type Options struct {
	// Output receives the output of hack/local-up.sh and hack/local-down.sh.
	Output io.Writer
	// StartTimeout bounds hack/local-up.sh, a cold build included.
	StartTimeout time.Duration
	// Keep leaves a control plane that Setup started running after Teardown.
	Keep bool
	// Env are settings of hack/local-up.sh (LOCAL_DIR and the *_PORT variables) that
	// differ from the test's environment: a second control plane next to the one the
	// environment names, such as the member cluster of a hub.
	Env map[string]string
}

// Setup reuses the running local control plane when its admin kubeconfig works and every
// APIService is Available, and otherwise starts one with hack/local-up.sh. Then every
// tenancy-apiserver replica that does not run the work tree's build (its /version commit and
// tree state against git, and with uncommitted changes its executable against the built
// binary) is restarted on the built binary. Any failure is an error: the caller must fail,
// never skip.
func Setup(ctx context.Context, o Options) (*Cluster, error) {
	if o.Output == nil {
		o.Output = os.Stderr
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 40 * time.Minute
	}
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	c := &Cluster{
		Root:        root,
		Dir:         filepath.Join(root, "_output", "local"),
		KubectlPath: "/usr/bin/kubectl",
	}
	if p := os.Getenv("KUBECTL"); p != "" {
		c.KubectlPath = p
	}
	for k, v := range o.Env {
		c.env = append(c.env, k+"="+v)
	}
	if dir, ok := o.Env["LOCAL_DIR"]; ok {
		if c.Dir, err = filepath.Abs(dir); err != nil {
			return nil, fmt.Errorf("LOCAL_DIR: %w", err)
		}
		c.env = append(c.env, "LOCAL_DIR="+c.Dir)
	} else if dir := os.Getenv("LOCAL_DIR"); dir != "" {
		// The scripts read LOCAL_DIR as well: a second control plane, with other *_PORT
		// settings, for a suite that must not share the default one.
		if c.Dir, err = filepath.Abs(dir); err != nil {
			return nil, fmt.Errorf("LOCAL_DIR: %w", err)
		}
		if err := os.Setenv("LOCAL_DIR", c.Dir); err != nil {
			return nil, fmt.Errorf("LOCAL_DIR: %w", err)
		}
	}
	c.Kubeconfig = filepath.Join(c.Dir, "kubeconfig")
	if _, err := os.Stat(c.KubectlPath); err != nil {
		return nil, fmt.Errorf("kubectl: %w", err)
	}

	if reason := c.reusable(ctx); reason != "" {
		fmt.Fprintf(o.Output, "e2e: starting the local control plane (%s)\n", reason)
		ctx, cancel := context.WithTimeout(ctx, o.StartTimeout)
		defer cancel()
		c.startedHere = !o.Keep
		if err := c.script(ctx, o.Output, "hack/local-up.sh"); err != nil {
			return nil, fmt.Errorf("hack/local-up.sh: %w", err)
		}
	} else {
		fmt.Fprintln(o.Output, "e2e: reusing the running local control plane")
	}
	if c.Env, err = localenv.ReadDir(c.Dir); err != nil {
		return nil, err
	}
	replicas, err := strconv.Atoi(c.Env["REPLICAS"])
	if err != nil || replicas < 1 {
		return nil, fmt.Errorf("%s/env: REPLICAS=%q is not a positive number", c.Dir, c.Env["REPLICAS"])
	}
	c.replicas, c.nextReplica = replicas, replicas
	// A control plane reused, or started with SKIP_BUILD=1, may run an older build than the
	// work tree's: the suite would then test that one.
	if err := c.ensureCurrent(ctx, o.Output, replicas); err != nil {
		if tErr := c.Teardown(o.Output); tErr != nil {
			return nil, errors.Join(err, tErr)
		}
		return nil, err
	}
	return c, nil
}

// reusable returns why the running control plane cannot be reused, or "" when it can.
func (c *Cluster) reusable(ctx context.Context) string {
	if _, err := os.Stat(c.Kubeconfig); err != nil {
		return "no " + c.Kubeconfig
	}
	env, err := localenv.ReadDir(c.Dir)
	if err != nil {
		return "no settings file"
	}
	if env["OIDC_ISSUER_URL"] == "" {
		return "it runs without the local OIDC issuer"
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, c.KubectlPath, "--kubeconfig", c.Kubeconfig, "get", "--raw", "/readyz",
		"--request-timeout=5s").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		return "kube-apiserver is not ready"
	}
	missing, err := c.unavailableAPIServices(ctx)
	if err != nil {
		return err.Error()
	}
	if len(missing) > 0 {
		return "not Available: " + strings.Join(missing, ", ")
	}
	return ""
}

// Teardown stops the control plane if Setup started it, and checks that none of its processes
// is left behind.
func (c *Cluster) Teardown(out io.Writer) error {
	if c == nil || !c.startedHere {
		return nil
	}
	pids := c.recordedPIDs()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := c.script(ctx, out, "hack/local-down.sh"); err != nil {
		return fmt.Errorf("hack/local-down.sh: %w", err)
	}
	var left []string
	for name, pid := range pids {
		if running(pid) {
			left = append(left, fmt.Sprintf("%s (PID %d)", name, pid))
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("hack/local-down.sh left processes running: %s", strings.Join(left, ", "))
	}
	return nil
}

// running reports whether a process exists and has not finished exiting: a zombie waiting
// for its parent to collect it holds no port or file any more.
func running(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the command name, which is in parentheses.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// recordedPIDs are the processes in Dir/pids, by name.
func (c *Cluster) recordedPIDs() map[string]int {
	pids := map[string]int{}
	files, _ := filepath.Glob(filepath.Join(c.Dir, "pids", "*.pid"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		fields := strings.Fields(string(data))
		if len(fields) == 0 {
			continue
		}
		if pid, err := strconv.Atoi(fields[0]); err == nil {
			pids[strings.TrimSuffix(filepath.Base(f), ".pid")] = pid
		}
	}
	return pids
}

// script runs a script of the repository with its output going to out. The e2e suite runs
// without a node (NODE=0: no kubelet, Pods stay Pending) unless NODE is set: its tests need
// admission, not running Pods, and a node costs a cold build and root. test/node starts one.
func (c *Cluster) script(ctx context.Context, out io.Writer, path string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(c.Root, path), args...)
	cmd.Dir = c.Root
	cmd.Env = os.Environ()
	if _, set := os.LookupEnv("NODE"); !set {
		cmd.Env = append(cmd.Env, "NODE=0")
	}
	// Later settings win: the cluster's own over the test's environment.
	cmd.Env = append(cmd.Env, c.env...)
	// The scripts' "error: …" lines say why they failed: the error carries them.
	errs := &errorLines{}
	cmd.Stdout = io.MultiWriter(out, errs)
	cmd.Stderr = cmd.Stdout
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Run(); err != nil {
		if len(errs.lines) > 0 {
			return fmt.Errorf("%w: %s", err, strings.Join(errs.lines, "; "))
		}
		return err
	}
	return nil
}

// errorLines keeps the lines written to it that start with "error: ", as lcp::fail writes them.
type errorLines struct {
	partial []byte
	lines   []string
}

func (e *errorLines) Write(p []byte) (int, error) {
	e.partial = append(e.partial, p...)
	for {
		i := bytes.IndexByte(e.partial, '\n')
		if i < 0 {
			break
		}
		if line, ok := strings.CutPrefix(string(e.partial[:i]), "error: "); ok {
			e.lines = append(e.lines, line)
		}
		e.partial = e.partial[i+1:]
	}
	return len(p), nil
}

// SecondPlane sets up a second local control plane beside c in dir, as make local-up
// SECOND_PLANE_OF=c.Dir does: hack/local-up.sh gives it c's ports plus PLANE_OFFSET (default
// 1000; the OIDC issuer's plus 1) and fails, naming the port, when one of them is taken or is
// a port of c's. It runs no node and no registry; o.Env adds settings.
func (c *Cluster) SecondPlane(ctx context.Context, dir string, o Options) (*Cluster, error) {
	env := map[string]string{"SECOND_PLANE_OF": c.Dir, "LOCAL_DIR": dir, "NODE": "0", "REGISTRY": "0"}
	for k, v := range o.Env {
		env[k] = v
	}
	o.Env = env
	return Setup(ctx, o)
}

// LogTail returns the last n lines of the log of a process of the control plane, such as
// "kube-apiserver" or "tenancy-apiserver-0".
func (c *Cluster) LogTail(name string, n int) string {
	f, err := os.Open(filepath.Join(c.Dir, "logs", name+".log"))
	if err != nil {
		return err.Error()
	}
	defer func() { _ = f.Close() }()
	var lines []string
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		lines = append(lines, s.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// LogNames are the processes of the control plane that have a log.
func (c *Cluster) LogNames() []string {
	files, _ := filepath.Glob(filepath.Join(c.Dir, "logs", "*.log"))
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".log"))
	}
	return names
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the repository root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "hack", "local-up.sh")); err == nil {
				return dir, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no repository root (go.mod and hack/local-up.sh) above the working directory")
		}
		dir = parent
	}
}
