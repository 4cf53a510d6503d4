package node

import (
	"os/exec"
	"strings"
	"testing"
	"time"
)

// restricted is the spec.isolation of the isolated Accounts of this suite: their Spaces
// enforce Pod Security "restricted", which the stand-in Pods meet. More isolation settings
// follow it, indented by four.
const restricted = "  isolation:\n    podSecurity:\n      enforce: restricted\n"

// probeFrom runs the stand-in's probe of addr in Pod ns/pod as user (kubectl exec, as the
// walkthrough's tenant pings), and reports whether addr answered, with the probe's output.
func probeFrom(t *testing.T, user, ns, pod, addr string, timeout time.Duration) (bool, string) {
	t.Helper()
	out, err := kubectlAs(t, user, "exec", "-n", ns, pod, "--", "/standin", "probe", "-timeout="+timeout.String(), addr)
	switch {
	case err == nil && strings.Contains(out, addr+": reachable"):
		return true, out
	case strings.Contains(out, addr+": unreachable"):
		return false, out
	default:
		// kubectl exec itself failed: neither answer.
		t.Fatalf("kubectl exec of the probe in %s/%s as %s: %v: %s", ns, pod, user, err, out)
		return false, out
	}
}

// eventuallyReachable polls the probe of addr from ns/pod until it answers as want, then
// checks once more with a longer timeout, so a blocked verdict is not a slow answer.
func eventuallyReachable(t *testing.T, user, ns, pod, addr string, want bool, what string) {
	t.Helper()
	var last string
	poll(t, time.Minute, what, func() bool {
		got, out := probeFrom(t, user, ns, pod, addr, time.Second)
		last = out
		return got == want
	})
	if got, out := probeFrom(t, user, ns, pod, addr, 3*time.Second); got != want {
		t.Fatalf("%s held only for a moment: %s", what, out)
	}
	t.Logf("%s: %s", what, last)
}

// Traffic between two Accounts' Pods on the real node, with kube-router enforcing the
// isolation NetworkPolicy: with spec.isolation.network.mode unset, a tenant's Pod reaches
// the other tenant's Pod (the walkthrough's ping); with mode Account on B, A's Pod no longer
// reaches B's and B's Pod no longer reaches A's, while B's two Spaces still reach each
// other; with mode None, both reach each other again. kube-router refuses the blocked
// connections (REJECT: "connection refused"), so a blocked probe is quick. The cluster's
// DNS runs on the node, not as kube-dns Pods, and the test says so.
func TestNetworkIsolationBetweenAccounts(t *testing.T) {
	if out, _ := kubectl(t, "get", "services", "--all-namespaces", "-l", "k8s-app=kube-dns", "-o", "name"); out != "" {
		t.Fatalf("the local cluster has a DNS Service (%s): this test does not check DNS egress; extend it", out)
	}
	if out, err := kubectl(t, "get", "service", "-n", "kube-system", "kube-dns"); err == nil || !strings.Contains(out, "NotFound") {
		t.Fatalf("kube-system/kube-dns: %v: %s", err, out)
	}
	t.Log("the local cluster's DNS is hack/localdns on the node's address, not Pods labelled k8s-app=kube-dns in " +
		"kube-system: the isolation policy's DNS egress rule has no peer here; its content is checked by test/e2e " +
		"TestIsolationNetworkPolicies")

	importStandin(t)
	const accountA, accountB, userA, userB = "traffic-a", "traffic-b", "traffic-a-dev", "traffic-b-dev"
	tenantAccount(t, accountA, userA, restricted)
	tenantAccount(t, accountB, userB, restricted)
	a, b, b2 := accountA+"-space", accountB+"-space", accountB+"-space-2"
	tenantSpace(t, userA, a, accountA)
	tenantSpace(t, userB, b, accountB)
	tenantSpace(t, userB, b2, accountB)
	listener := func(ns string) string { return restrictedPod("listener", ns, "", "serve", ":8080") }
	ipA := runningPod(t, userA, a, "listener", listener(a))
	ipB := runningPod(t, userB, b, "listener", listener(b))
	runningPod(t, userB, b2, "listener", listener(b2))
	toA, toB := ipA+":8080", ipB+":8080"
	// B's Service: through its ClusterIP (kube-proxy's DNAT) the policy holds as well.
	must(t, "B's Service")(kubectlAs(t, userB, "expose", "pod", "listener", "-n", b, "--port=8080"))
	toServiceB := must(t, "B's ClusterIP")(kubectl(t, "get", "service", "-n", b, "listener", "-o", "jsonpath={.spec.clusterIP}")) + ":8080"

	eventuallyReachable(t, userA, a, "listener", toB, true, "with network.mode unset, A's Pod reaches B's Pod")
	eventuallyReachable(t, userA, a, "listener", toServiceB, true, "with network.mode unset, A's Pod reaches B's Service")

	must(t, "network.mode Account on "+accountB)(kubectl(t, "patch", "accounts.config.kiosk.sh", accountB, "--type=merge",
		"-p", `{"spec":{"isolation":{"network":{"mode":"Account"}}}}`))
	for _, ns := range []string{b, b2} {
		poll(t, time.Minute, "the isolation NetworkPolicy is in "+ns, func() bool {
			_, err := kubectl(t, "get", "networkpolicy", "-n", ns, "kiosk-isolation")
			return err == nil
		})
	}
	eventuallyReachable(t, userA, a, "listener", toB, false, "with network.mode Account on B, A's Pod does not reach B's Pod")
	eventuallyReachable(t, userA, a, "listener", toServiceB, false, "with network.mode Account on B, A's Pod does not reach B's Service")
	// A's tenant cannot run the probe from inside B's Pods, nor move its Space into B's
	// Account.
	if out, err := kubectlAs(t, userA, "exec", "-n", b, "listener", "--", "/standin", "probe", toB); err == nil || !strings.Contains(out, "Forbidden") {
		t.Errorf("A's tenant execs into B's Pod: %v: %s; want Forbidden", err, out)
	}
	for _, kind := range []string{"namespace", "space"} {
		out, err := kubectlAs(t, userA, "label", kind, a, "kiosk.sh/account="+accountB, "--overwrite")
		if err == nil || !strings.Contains(out, "Forbidden") {
			t.Errorf("A's tenant relabels its %s into B's Account: %v: %s; want Forbidden", kind, err, out)
		}
		t.Logf("A's tenant relabels its %s into B's Account: %s", kind, out)
	}
	// A's own NetworkPolicy opening everything from A's side does not open B's ingress.
	must(t, "A's allow-all NetworkPolicy")(applyAs(t, userA, "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"+
		"metadata:\n  name: allow-all\n  namespace: "+a+"\nspec:\n  podSelector: {}\n  policyTypes: [Ingress, Egress]\n"+
		"  ingress:\n  - {}\n  egress:\n  - {}\n"))
	poll(t, time.Minute, "kube-router enforces A's allow-all NetworkPolicy", func() bool {
		out, err := exec.Command("iptables-save", "-t", "filter").Output()
		return err == nil && strings.Contains(string(out), "selected by policy name: allow-all namespace "+a+`"`)
	})
	// B's tenant cannot remove or empty the policy the server keeps in B's Space.
	if out, err := kubectlAs(t, userB, "delete", "networkpolicy", "-n", b, "kiosk-isolation"); err == nil {
		t.Errorf("B's tenant deletes kiosk-isolation: %s; want refused", out)
	}
	if out, err := kubectlAs(t, userB, "patch", "networkpolicy", "-n", b, "kiosk-isolation", "--type=merge",
		"-p", `{"spec":{"ingress":[{}]}}`); err == nil {
		t.Errorf("B's tenant opens kiosk-isolation: %s; want refused", out)
	}
	eventuallyReachable(t, userA, a, "listener", toB, false, "after A's attempts, A's Pod still does not reach B's Pod")
	eventuallyReachable(t, userB, b, "listener", toA, false, "with network.mode Account on B, B's Pod does not reach A's Pod")
	eventuallyReachable(t, userB, b2, "listener", toB, true, "with network.mode Account on B, B's other Space reaches B's Pod")

	must(t, "network.mode None on "+accountB)(kubectl(t, "patch", "accounts.config.kiosk.sh", accountB, "--type=merge",
		"-p", `{"spec":{"isolation":{"network":{"mode":"None"}}}}`))
	eventuallyReachable(t, userA, a, "listener", toB, true, "with network.mode None on B, A's Pod reaches B's Pod again")
	eventuallyReachable(t, userB, b, "listener", toA, true, "with network.mode None on B, B's Pod reaches A's Pod again")
}
