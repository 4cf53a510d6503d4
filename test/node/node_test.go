package node

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The node registers with its bridge address, gets the Pod range, becomes Ready, and a Pod of
// the local pause image runs on it with an IP from that range; kubectl logs and exec reach it
// through kube-apiserver and the kubelet.
func TestNodeIsReadyAndRunsAPod(t *testing.T) {
	nodeName, nodeIP, podCIDR := localEnv(t, "NODE_NAME"), localEnv(t, "NODE_IP"), localEnv(t, "POD_CIDR")
	out, err := kubectl(t, "wait", "--for=condition=Ready", "node/"+nodeName, "--timeout=120s")
	if err != nil {
		t.Fatalf("node %s is not Ready: %v: %s", nodeName, err, out)
	}
	out, err = kubectl(t, "get", "node", nodeName, "-o",
		`jsonpath={.status.addresses[?(@.type=="InternalIP")].address} {.spec.podCIDR} {.spec.taints}`)
	if err != nil {
		t.Fatal(err, out)
	}
	if want := nodeIP + " " + podCIDR + " "; out != strings.TrimSpace(want) && out != want {
		t.Errorf("node InternalIP, podCIDR, taints = %q, want %q and no taints", out, want)
	}
	// Pods reach kube-apiserver through the kubernetes Service, whose endpoints are the node's
	// address.
	out, err = kubectl(t, "get", "endpointslices", "-n", "default", "-l", "kubernetes.io/service-name=kubernetes",
		"-o", "jsonpath={.items[*].endpoints[*].addresses[*]}")
	if err != nil || out != nodeIP {
		t.Errorf("the kubernetes Service's endpoints = %q (%v), want %s", out, err, nodeIP)
	}

	const pod = "pause"
	if out, err := kubectl(t, "run", pod, "--image=registry.k8s.io/pause:local", "--restart=Never"); err != nil {
		t.Fatalf("kubectl run: %v: %s", err, out)
	}
	t.Cleanup(func() { _, _ = kubectl(t, "delete", "pod", pod, "--wait=false") })
	started := time.Now()
	if out, err := kubectl(t, "wait", "--for=jsonpath={.status.phase}=Running", "pod/"+pod, "--timeout=120s"); err != nil {
		desc, _ := kubectl(t, "describe", "pod", pod)
		t.Fatalf("the Pod did not reach Running: %v: %s\n%s", err, out, desc)
	}
	t.Logf("the Pod was Running %s after kubectl run", time.Since(started).Round(100*time.Millisecond))
	out, err = kubectl(t, "get", "pod", pod, "-o", "jsonpath={.spec.nodeName} {.status.podIP}")
	if err != nil {
		t.Fatal(err, out)
	}
	node, ip, _ := strings.Cut(out, " ")
	_, pods, _ := net.ParseCIDR(podCIDR)
	if node != nodeName || !pods.Contains(net.ParseIP(ip)) {
		t.Errorf("the Pod runs on %q with IP %q, want %s and an IP in %s", node, ip, nodeName, podCIDR)
	}
	if out, err := kubectl(t, "logs", pod); err != nil {
		t.Errorf("kubectl logs: %v: %s", err, out)
	}
	if out, err := kubectl(t, "exec", pod, "--", "/pause", "-v"); err != nil || !strings.Contains(out, "pause") {
		t.Errorf("kubectl exec: %v: %q", err, out)
	}
}

// A Pod reaches kube-apiserver through the kubernetes Service's ClusterIP (kube-proxy's DNAT
// to the node's bridge address), with the stand-in image packed and imported as the pause
// image is.
func TestPodReachesKubeAPIServerThroughTheKubernetesService(t *testing.T) {
	image := importStandin(t)
	serviceIP := localEnv(t, "KUBERNETES_SERVICE_IP")
	const pod = "probe"
	out, err := kubectl(t, "run", pod, "--image="+image, "--image-pull-policy=Never", "--restart=Never",
		"--command", "--", "/standin", "probe", serviceIP+":443")
	if err != nil {
		t.Fatalf("kubectl run: %v: %s", err, out)
	}
	t.Cleanup(func() { _, _ = kubectl(t, "delete", "pod", pod, "--wait=false") })
	if out, err := kubectl(t, "wait", "--for=jsonpath={.status.phase}=Succeeded", "pod/"+pod, "--timeout=120s"); err != nil {
		logs, _ := kubectl(t, "logs", pod)
		desc, _ := kubectl(t, "describe", "pod", pod)
		t.Fatalf("the probe did not succeed: %v: %s\nlogs: %s\n%s", err, out, logs, desc)
	}
	logs, _ := kubectl(t, "logs", pod)
	t.Logf("probe: %s", logs)
}

// kube-router, which enforces the NetworkPolicies, ran through the whole suite: the process
// local-up started still runs kube-router (no restart, no exit), and its health endpoint,
// which fails once one of its controllers stops syncing, answers OK. It runs after every
// test but the last.
func TestKubeRouterRanThroughTheSuite(t *testing.T) {
	pid := must(t, "kube-router's pid file")(run("cat", filepath.Join(localDir, "pids", "kube-router.pid")))
	if fields := strings.Fields(pid); len(fields) == 0 || fields[0] != kubeRouterPID {
		t.Errorf("kube-router's pid is %q now, %s after local-up: it was restarted", pid, kubeRouterPID)
	}
	exe, err := os.Readlink("/proc/" + kubeRouterPID + "/exe")
	if err != nil || filepath.Base(exe) != "kube-router" {
		t.Errorf("process %s is not kube-router any more (%q, %v)", kubeRouterPID, exe, err)
	}
	url := "http://127.0.0.1:" + localEnv(t, "KUBE_ROUTER_HEALTH_PORT") + "/healthz"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("kube-router's health endpoint: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %s %s", url, resp.Status, body)
	}
	t.Logf("kube-router (pid %s) ran through the suite; GET %s: %s %s", kubeRouterPID, url, resp.Status, strings.TrimSpace(string(body)))
}

// hack/local-down.sh stops the node and removes everything local-up added to the host:
// iptables chains, ipsets, mounts (the kubelet's root bind mount, volumes, network
// namespaces), cgroups, the bridge and the Pods' links, files, and restores the sysctls.
// It runs last (tests run in source order), after a Pod has run, so there is something to
// clean.
func TestLocalDownLeavesTheHostAsItFoundIt(t *testing.T) {
	during, err := takeSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	if changes := diff(before, during); len(changes) == 0 {
		t.Fatal("local-up with a node changed nothing on the host: the snapshot cannot see it")
	}
	up = false
	if err := script(5*time.Minute, "hack/local-down.sh"); err != nil {
		t.Fatalf("hack/local-down.sh: %v", err)
	}
	after, err := takeSnapshot()
	if err != nil {
		t.Fatal(err)
	}
	if changes := diff(before, after); len(changes) > 0 {
		t.Errorf("local-down left the host changed:\n%s", strings.Join(changes, "\n"))
	}
}
