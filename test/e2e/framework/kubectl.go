package framework

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// kubectlTimeout bounds one kubectl run.
const kubectlTimeout = 2 * time.Minute

// Kubectl runs the real kubectl with the admin kubeconfig, as the admin or, through
// impersonation (--as, --as-group), as another user.
type Kubectl struct {
	c      *Cluster
	user   string
	groups []string
	// kubeconfig replaces the admin kubeconfig when set.
	kubeconfig string
}

// Admin runs kubectl as the cluster admin (group system:masters).
func (c *Cluster) Admin() Kubectl { return Kubectl{c: c} }

// As runs kubectl as user, member of groups (--as, --as-group). kube-apiserver adds
// system:authenticated to an impersonated user, as it does for any authenticated user.
func (c *Cluster) As(user string, groups ...string) Kubectl {
	return Kubectl{c: c, user: user, groups: groups}
}

// WithKubeconfig runs kubectl with the credentials of another kubeconfig instead of the
// admin's, such as one ServiceAccountKubeconfig wrote.
func (c *Cluster) WithKubeconfig(path string) Kubectl { return Kubectl{c: c, kubeconfig: path} }

// Result is what a kubectl run printed and how it ended.
type Result struct {
	Args   []string
	Stdout string
	Stderr string
	// Err is nil when kubectl exited with status 0.
	Err error
}

// Success fails the test unless kubectl succeeded, and returns the result.
func (r Result) Success(t testing.TB) Result {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("kubectl %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(r.Args, " "), r.Err, r.Stdout, r.Stderr)
	}
	return r
}

// Failure fails the test unless kubectl failed, and returns the result.
func (r Result) Failure(t testing.TB) Result {
	t.Helper()
	if r.Err == nil {
		t.Fatalf("kubectl %s succeeded, a failure was expected\nstdout:\n%s\nstderr:\n%s",
			strings.Join(r.Args, " "), r.Stdout, r.Stderr)
	}
	var exit *exec.ExitError
	if !errors.As(r.Err, &exit) {
		t.Fatalf("kubectl %s did not run: %v", strings.Join(r.Args, " "), r.Err)
	}
	return r
}

// Deleted is for cleanups that delete with kubectl: it marks the test failed, and lets the
// cleanup go on, unless kubectl succeeded, found the object gone, or found a Namespace being
// deleted already.
func (r Result) Deleted(t testing.TB) {
	t.Helper()
	if r.Err == nil || strings.Contains(r.Stderr, "(NotFound)") ||
		strings.Contains(r.Stderr, "all content is removed from this namespace") {
		return
	}
	t.Errorf("cleanup: kubectl %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(r.Args, " "), r.Err, r.Stdout, r.Stderr)
}

// Run runs kubectl with args.
func (k Kubectl) Run(t testing.TB, args ...string) Result {
	t.Helper()
	return k.RunWithInput(t, "", args...)
}

// RunWithInput runs kubectl with args and stdin as its standard input.
func (k Kubectl) RunWithInput(t testing.TB, stdin string, args ...string) Result {
	t.Helper()
	kubeconfig := k.c.Kubeconfig
	if k.kubeconfig != "" {
		kubeconfig = k.kubeconfig
	}
	full := append([]string{"--kubeconfig", kubeconfig}, k.identityArgs()...)
	full = append(full, args...)
	ctx, cancel := context.WithTimeout(context.Background(), kubectlTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, k.c.KubectlPath, full...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "KUBECTL_COMMAND_HEADERS=false")
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := Result{Args: full, Stdout: stdout.String(), Stderr: stderr.String(), Err: err}
	t.Logf("kubectl %s: %v", strings.Join(full[2:], " "), errString(err))
	return r
}

// Apply runs `kubectl apply -f -` with manifest, byte for byte as given, plus extra args.
func (k Kubectl) Apply(t testing.TB, manifest string, args ...string) Result {
	t.Helper()
	return k.RunWithInput(t, manifest, append([]string{"apply", "-f", "-"}, args...)...)
}

func (k Kubectl) identityArgs() []string {
	if k.user == "" {
		return nil
	}
	args := []string{"--as=" + k.user}
	for _, g := range k.groups {
		args = append(args, "--as-group="+g)
	}
	return args
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}
