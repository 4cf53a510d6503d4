package node

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/localenv"
)

// The chart's release on the node, as docs/eks.md installs it: release tenancy-apiserver in
// namespace tenancy-system, which helm creates and the admin labels for Pod Security
// "restricted".
const (
	release          = "tenancy-apiserver"
	releaseNamespace = "tenancy-system"
	// storageClass is the StorageClass of the node's PersistentVolumes (hostPath directories
	// under LOCAL_DIR/volumes, made by persistentVolumes), which the test values name.
	storageClass = "tenancy-local"
)

// helmBin is the helm of make helm.
func helmBin() string { return filepath.Join(root, "_output", "bin", "helm") }

// helm runs helm against the local cluster with a configuration of its own, and returns its
// combined output.
func helm(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, helmBin(), args...)
	home := filepath.Join(localDir, "helm")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "HELM_CONFIG_HOME="+home,
		"HELM_CACHE_HOME="+home, "HELM_DATA_HOME="+home)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// kubectlCtx runs kubectl as the admin, outside a test, and returns its trimmed output.
func kubectlCtx(ctx context.Context, stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig=" + kubeconfig}, args...)...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return strings.TrimSpace(string(out)), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// readEnv reads a setting local-up saved in LOCAL_DIR/env: "" when it is not there.
func readEnv(name string) (string, error) {
	env, err := localenv.ReadDir(localDir)
	if err != nil {
		return "", err
	}
	return env[name], nil
}

// imageValues are the --set flags that point value prefix (image, storage.bundled.image) at
// image, as local-up imported it into the node's containerd: pulled never.
func imageValues(prefix, image string) []string {
	repo, tag := image, "latest"
	if i := strings.LastIndex(image, ":"); i > strings.LastIndex(image, "/") {
		repo, tag = image[:i], image[i+1:]
	}
	return []string{"--set", prefix + ".repository=" + repo, "--set-string", prefix + ".tag=" + tag,
		"--set", prefix + ".pullPolicy=Never"}
}

// persistentVolumes makes the StorageClass storageClass (no provisioner) and n hostPath
// PersistentVolumes of it named <prefix>-<i>, each a directory under LOCAL_DIR/volumes owned
// by the chart's user 65534 (a hostPath volume takes no fsGroup). Reclaim policy Retain: a
// released volume keeps its data, as a cloud disk of a StatefulSet's claim does.
func persistentVolumes(ctx context.Context, prefix string, n int) error {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata:\n  name: %s\n"+
		"provisioner: kubernetes.io/no-provisioner\nvolumeBindingMode: Immediate\n", storageClass)
	for i := range n {
		name := fmt.Sprintf("%s-%d", prefix, i)
		dir := filepath.Join(localDir, "volumes", name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		if err := os.Chown(dir, 65534, 65534); err != nil {
			return err
		}
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: PersistentVolume\nmetadata:\n  name: %s\nspec:\n"+
			"  storageClassName: %s\n  capacity: {storage: 10Gi}\n  accessModes: [ReadWriteOnce]\n"+
			"  persistentVolumeReclaimPolicy: Retain\n  hostPath: {path: %s, type: Directory}\n", name, storageClass, dir)
	}
	_, err := kubectlCtx(ctx, b.String(), "apply", "-f", "-")
	return err
}

// installChart installs charts/tenancy-apiserver as release with the values files of
// test/node/testdata and extra flags, with the product's image local-up imported, waits for
// helm (the workload's rollout), and then for the APIServices and kube-apiserver's discovery
// of both groups.
func installChart(ctx context.Context, valuesFiles []string, extra ...string) error {
	image, err := readEnv("SERVER_IMAGE")
	if err != nil {
		return err
	}
	if image == "" {
		return fmt.Errorf("local-up imported no product image (SERVER_IMAGE is not in %s/env): run make image", localDir)
	}
	args := []string{"install", release, filepath.Join(root, "charts", "tenancy-apiserver"),
		"--namespace", releaseNamespace, "--create-namespace", "--wait", "--timeout", "5m"}
	for _, f := range valuesFiles {
		args = append(args, "--values", filepath.Join(root, "test", "node", "testdata", f))
	}
	args = append(append(args, imageValues("image", image)...), extra...)
	if _, err := helm(ctx, args...); err != nil {
		return err
	}
	if _, err := kubectlCtx(ctx, "", "label", "namespace", releaseNamespace,
		"pod-security.kubernetes.io/enforce=restricted", "--overwrite"); err != nil {
		return err
	}
	return waitServed(ctx)
}

// waitServed waits until both APIServices are Available and kube-apiserver's discovery lists
// their resources, as hack/local-up.sh does for the server it runs.
func waitServed(ctx context.Context) error {
	if _, err := kubectlCtx(ctx, "", "wait", "--for=condition=Available", "--timeout=3m",
		"apiservice/v1alpha1.config.kiosk.sh", "apiservice/v1alpha1.tenancy.kiosk.sh"); err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for _, want := range []string{"accounts.config.kiosk.sh", "spaces.tenancy.kiosk.sh"} {
		group := want[strings.Index(want, ".")+1:]
		for {
			out, _ := kubectlCtx(ctx, "", "api-resources", "--api-group="+group, "-o", "name")
			if strings.Contains(out, want) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("kube-apiserver's discovery does not list %s: %s", want, out)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	return nil
}

// clusterObjects lists every object of the cluster as "Kind namespace/name" (namespace empty
// for cluster-scoped ones), sorted: every resource kube-apiserver serves with list, but
// Events and the nodes' heartbeat Leases (namespace kube-node-lease), which come and go by
// themselves.
func clusterObjects(ctx context.Context) ([]string, error) {
	out, err := kubectlCtx(ctx, "", "api-resources", "--verbs=list", "-o", "name")
	if err != nil {
		return nil, err
	}
	var resources []string
	for _, r := range lines(out) {
		if r != "events" && r != "events.events.k8s.io" {
			resources = append(resources, r)
		}
	}
	out, err = kubectlCtx(ctx, "", "get", strings.Join(resources, ","), "--all-namespaces", "-o",
		`jsonpath={range .items[*]}{.kind} {.metadata.namespace}/{.metadata.name}{"\n"}{end}`)
	if err != nil {
		return nil, err
	}
	var objs []string
	for _, o := range lines(out) {
		if !strings.HasPrefix(o, "Lease kube-node-lease/") {
			objs = append(objs, o)
		}
	}
	return sorted(objs), nil
}
