package node

import (
	"strings"
	"testing"
	"time"
)

// tenantLabel is the node label of node isolation, under the prefix kubelets cannot set.
const tenantLabel = "node-restriction.kubernetes.io/tenant"

// kubeletlessNode is a Node object without a kubelet, as a kubelet registers one: tenant b's
// label and taint, the not-ready taint, and a Ready condition False, so the scheduler never
// places a Pod on it (and the node lifecycle controller keeps the taint).
const kubeletlessNode = `apiVersion: v1
kind: Node
metadata:
  name: tenancy-node-b
  labels:
    kubernetes.io/hostname: tenancy-node-b
    ` + tenantLabel + `: b
spec:
  taints:
  - key: ` + tenantLabel + `
    value: b
    effect: NoSchedule
  - key: node.kubernetes.io/not-ready
    effect: NoSchedule
`

// Node isolation decided by the real kube-scheduler: the real node carries tenant a's label,
// a Node without a kubelet carries tenant b's label and taint. Account A's nodeSelector
// lands A's Pod on the real node, Running; Account B's Pod, given B's selector and toleration
// by the Pod isolation webhook, stays Pending, and the scheduler says the real node did not
// match its selector. B's tenant cannot escape to the real node by naming it or a's label.
func TestNodeIsolationOnTheRealScheduler(t *testing.T) {
	nodeName := localEnv(t, "NODE_NAME")
	importStandin(t)
	must(t, "label node "+nodeName)(kubectl(t, "label", "node", nodeName, tenantLabel+"=a", "--overwrite"))
	t.Cleanup(func() { _, _ = kubectl(t, "label", "node", nodeName, tenantLabel+"-") })
	t.Cleanup(func() { _, _ = kubectl(t, "delete", "node", "tenancy-node-b", "--ignore-not-found") })
	must(t, "Node tenancy-node-b")(applyAs(t, "", kubeletlessNode))
	now := time.Now().UTC().Format(time.RFC3339)
	must(t, "the Ready condition of tenancy-node-b")(kubectl(t, "patch", "node", "tenancy-node-b", "--subresource=status",
		"--type=merge", "-p", `{"status":{"conditions":[{"type":"Ready","status":"False","reason":"KubeletNotReady",`+
			`"message":"no kubelet: a Node object of the test","lastHeartbeatTime":"`+now+`","lastTransitionTime":"`+now+`"}]}}`))
	poll(t, time.Minute, "tenancy-node-b is NotReady with its taints", func() bool {
		out, _ := kubectl(t, "get", "node", "tenancy-node-b", "-o",
			`jsonpath={.status.conditions[?(@.type=="Ready")].status} {.spec.taints[*].key}`)
		return strings.HasPrefix(out, "False ") && strings.Contains(out, tenantLabel) &&
			(strings.Contains(out, "node.kubernetes.io/not-ready") || strings.Contains(out, "node.kubernetes.io/unreachable"))
	})

	const accountA, accountB, userA, userB = "sched-a", "sched-b", "sched-a-dev", "sched-b-dev"
	tenantAccount(t, accountA, userA, restricted+"    nodes:\n      nodeSelector:\n        "+tenantLabel+": a\n")
	tenantAccount(t, accountB, userB, restricted+"    nodes:\n      nodeSelector:\n        "+tenantLabel+": b\n"+
		"      tolerations:\n      - key: "+tenantLabel+"\n        operator: Equal\n        value: b\n        effect: NoSchedule\n")
	a, b := accountA+"-space", accountB+"-space"
	tenantSpace(t, userA, a, accountA)
	tenantSpace(t, userB, b, accountB)

	runningPod(t, userA, a, "app", restrictedPod("app", a, "", "serve"))
	out := must(t, "A's Pod")(kubectl(t, "get", "pod", "-n", a, "app", "-o", "jsonpath={.spec.nodeName} {.spec.nodeSelector}"))
	if want := nodeName + ` {"` + tenantLabel + `":"a"}`; out != want {
		t.Errorf("A's Pod: nodeName and nodeSelector = %s, want %s", out, want)
	}

	must(t, "B's Pod")(applyAs(t, userB, restrictedPod("app", b, "", "serve")))
	var message string
	poll(t, time.Minute, "the scheduler finds no node for B's Pod", func() bool {
		out, _ := kubectl(t, "get", "pod", "-n", b, "app", "-o",
			`jsonpath={.status.phase} {.status.conditions[?(@.type=="PodScheduled")].reason}: {.status.conditions[?(@.type=="PodScheduled")].message}`)
		message = out
		return strings.HasPrefix(out, "Pending Unschedulable: ")
	})
	t.Logf("B's Pod: %s", message)
	for _, want := range []string{"0/2 nodes are available", "1 node(s) didn't match Pod's node affinity/selector", "1 node(s) had untolerated taint"} {
		if !strings.Contains(message, want) {
			t.Errorf("the scheduler's verdict on B's Pod does not say %q: %s", want, message)
		}
	}
	out = must(t, "B's Pod")(kubectl(t, "get", "pod", "-n", b, "app", "-o", "jsonpath={.spec.nodeName}|{.spec.nodeSelector}|{.spec.tolerations[?(@.key==\""+tenantLabel+"\")].value}"))
	if want := `|{"` + tenantLabel + `":"b"}|b`; out != want {
		t.Errorf("B's Pod: nodeName|nodeSelector|tenant toleration = %s, want %s", out, want)
	}
	events := must(t, "B's Pod's events")(kubectl(t, "get", "events", "-n", b, "--field-selector", "involvedObject.name=app,reason=FailedScheduling", "-o", "jsonpath={.items[*].message}"))
	if !strings.Contains(events, "didn't match Pod's node affinity/selector") {
		t.Errorf("no FailedScheduling event names the selector: %q", events)
	}

	// B's tenant tries the real node: by name (bypassing the scheduler) and by a's label.
	for name, extra := range map[string]string{
		"by-name":  "  nodeName: " + nodeName + "\n",
		"by-label": "  nodeSelector:\n    " + tenantLabel + ": a\n",
	} {
		out, err := applyAs(t, userB, restrictedPod(name, b, extra, "serve"))
		field := map[string]string{"by-name": "spec.nodeName", "by-label": "spec.nodeSelector[" + tenantLabel + "]"}[name]
		if err == nil || !strings.Contains(out, "Forbidden") || !strings.Contains(out, field) {
			t.Errorf("B's Pod on the real node %s: %v: %s; want Forbidden naming %s", name, err, out, field)
		}
	}
}
