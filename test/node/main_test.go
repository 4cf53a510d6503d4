// Package node tests the local node of hack/local-up.sh (NODE=1): a Ready Node on which
// Pods run, the product installed in the cluster with its Helm chart as users install it,
// tenants' traffic and node placement isolated per Account with real Pods, and
// hack/local-down.sh leaving the host as it found it. local-up runs with TENANCY=0, and the
// suite installs charts/tenancy-apiserver (embedded storage) before its tests, which all
// run against that in-cluster server. It needs root, as the
// node does; it fails, never skips, when the node cannot start. Test files run in name
// order, so TestLocalDownLeavesTheHostAsItFoundIt, in node_test.go, runs after the tests
// of files named before it; a new file of tests must sort before node_test.go.
//
// Environment: LOCAL_DIR and the *_PORT variables of hack/local-up.sh (defaults: its own
// _output/node-test and ports apart from the e2e suite's); SKIP_BUILD=1 uses the binaries in
// _output/bin (make test-node builds them first).
package node

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var (
	root       string
	localDir   string
	kubeconfig string
	// before is the host before local-up.
	before snapshot
	// up is true while the node runs.
	up bool
	// clusterBefore are the cluster's objects before the chart was installed.
	clusterBefore []string
	// kubeRouterPID is kube-router's process after local-up.
	kubeRouterPID string
)

// defaults are the ports of this suite's control plane, apart from the e2e suite's.
var defaults = map[string]string{
	"ETCD_PORT": "23379", "ETCD_PEER_PORT": "23380", "TENANCY_ETCD_PORT": "23381",
	"TENANCY_ETCD_PEER_PORT": "23382", "KUBE_APISERVER_PORT": "23443",
	"KUBE_CONTROLLER_MANAGER_PORT": "23257", "TENANCY_PORT": "23444",
}

func TestMain(m *testing.M) { os.Exit(runMain(m)) }

func runMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "node: the local node needs root")
		return 1
	}
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	root = filepath.Join(wd, "..", "..")
	localDir = os.Getenv("LOCAL_DIR")
	if localDir == "" {
		localDir = filepath.Join(root, "_output", "node-test")
	}
	kubeconfig = filepath.Join(localDir, "kubeconfig")
	os.Setenv("LOCAL_DIR", localDir)
	os.Setenv("NODE", "1")
	for k, v := range defaults {
		if os.Getenv(k) == "" {
			os.Setenv(k, v)
		}
	}
	if before, err = takeSnapshot(); err != nil {
		fmt.Fprintln(os.Stderr, "node: snapshot of the host:", err)
		return 1
	}
	started := time.Now()
	if err := script(40*time.Minute, "hack/local-up.sh", "CLEAN=1", "TENANCY=0"); err != nil {
		fmt.Fprintln(os.Stderr, "node: hack/local-up.sh:", err)
		_ = script(5*time.Minute, "hack/local-down.sh")
		return 1
	}
	up = true
	fmt.Fprintf(os.Stderr, "node: local-up with a node took %s\n", time.Since(started).Round(time.Second))
	if err := setUpChart(); err != nil {
		fmt.Fprintln(os.Stderr, "node: the chart:", err)
		_ = script(5*time.Minute, "hack/local-down.sh")
		return 1
	}
	code := m.Run()
	if up {
		if err := script(5*time.Minute, "hack/local-down.sh"); err != nil {
			fmt.Fprintln(os.Stderr, "node: hack/local-down.sh:", err)
			return 1
		}
	}
	return code
}

// setUpChart records kube-router's pid and the cluster's objects, makes the node's
// PersistentVolumes and installs the chart with embedded storage, the suite's server.
func setUpChart() error {
	ctx := context.Background()
	pid, err := os.ReadFile(filepath.Join(localDir, "pids", "kube-router.pid"))
	if err != nil {
		return err
	}
	kubeRouterPID = strings.Fields(string(pid))[0]
	// One volume for the embedded etcd, three for the bundled etcd's members.
	if err := persistentVolumes(ctx, storageClass, 4); err != nil {
		return err
	}
	if clusterBefore, err = clusterObjects(ctx); err != nil {
		return err
	}
	started := time.Now()
	if err := installChart(ctx, []string{"embedded-values.yaml"}); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "node: helm install (embedded storage) until both groups were served took %s\n",
		time.Since(started).Round(time.Second))
	return nil
}

// script runs a script of the repository with extra environment, its output on stderr.
func script(timeout time.Duration, path string, env ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, path))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.WaitDelay = 10 * time.Second
	return cmd.Run()
}

// kubectl runs kubectl as the admin and returns its trimmed output. It runs in cleanups too,
// after the test's context ended.
func kubectl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig=" + kubeconfig}, args...)...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// localEnv reads a setting local-up saved in LOCAL_DIR/env, failing the test when it is not
// there.
func localEnv(t *testing.T, name string) string {
	t.Helper()
	v, err := readEnv(name)
	if err != nil {
		t.Fatal(err)
	}
	if v == "" {
		t.Fatalf("%s is not in %s/env", name, localDir)
	}
	return v
}

// standinImage is the image of hack/standin, the stand-in workload (a TCP listener and a
// shell-free probe), as importStandin imports it.
const standinImage = "tenancy.local/standin:test"

// importStandin imports the image of hack/standin into the node's containerd, and returns its
// name.
func importStandin(t *testing.T) string {
	t.Helper()
	importImage(t, standinImage, "./hack/standin")
	return standinImage
}

// importImage builds the static Go program pkg of the repository, packs it with imagepack as
// image (entrypoint /<base name of pkg>) and imports it into the node's containerd.
func importImage(t *testing.T, image, pkg string) {
	t.Helper()
	dir := t.TempDir()
	name := filepath.Base(pkg)
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, name), pkg)
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v: %s", pkg, err, out)
	}
	tarball := filepath.Join(dir, name+".tar")
	pack := exec.Command(filepath.Join(root, "_output", "bin", "imagepack"), "--tag="+image, "--output="+tarball,
		"--file="+filepath.Join(dir, name)+":/"+name, "--entrypoint=/"+name, "--user=65532:65532")
	if out, err := pack.CombinedOutput(); err != nil {
		t.Fatalf("imagepack: %v: %s", err, out)
	}
	ctr := exec.Command("ctr", "--address", filepath.Join(localDir, "node", "containerd", "containerd.sock"),
		"-n", "k8s.io", "images", "import", tarball)
	if out, err := ctr.CombinedOutput(); err != nil {
		t.Fatalf("ctr images import: %v: %s", err, out)
	}
}
