package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// restrictedLabels are the Pod Security labels of a Space whose Account enforces restricted.
var restrictedLabels = map[string]string{
	"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
	"pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/warn-version": "latest",
	"pod-security.kubernetes.io/audit": "restricted", "pod-security.kubernetes.io/audit-version": "latest",
}

// isolatedAccount applies an Account of user with spec.isolation (indented under
// spec.isolation), lets user create Spaces, and removes both when the test ends.
func isolatedAccount(t *testing.T, name, user, isolation string) {
	t.Helper()
	admin := cluster.Admin()
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", "-l", "kiosk.sh/account="+name, "--wait=false").Deleted(t)
		admin.Run(t, "delete", "accounts.config.kiosk.sh", name, "--ignore-not-found").Deleted(t)
	})
	admin.Apply(t, accountYAML(name, user, "")+"  isolation:\n"+isolation).Success(t)
	grantKioskEdit(t, cluster.AdminClients(t), name, user)
}

// isolatedSpace makes an Account with spec.isolation (see isolatedAccount), its tenant, and
// the tenant's Space.
func isolatedSpace(t *testing.T, prefix, isolation string) (account, tenant, ns string) {
	t.Helper()
	account, tenant = framework.UniqueName(prefix), framework.UniqueName(prefix+"-me")
	isolatedAccount(t, account, tenant, isolation)
	ns = account + "-space"
	cluster.As(tenant).Apply(t, space(ns, account)).Success(t)
	return account, tenant, ns
}

// podSecurityLabels are the pod-security.kubernetes.io/ labels of namespace ns.
func podSecurityLabels(ctx context.Context, t testing.TB, ns string) map[string]string {
	t.Helper()
	got, err := cluster.AdminClients(t).Kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	require.NoError(t, err)
	out := map[string]string{}
	for k, v := range got.Labels {
		if strings.HasPrefix(k, "pod-security.kubernetes.io/") {
			out[k] = v
		}
	}
	return out
}

// restrictedPodYAML is a Pod that meets the restricted Pod Security level, but for extra, lines added
// to its spec (at spec level), and containerExtra, lines added to its container's
// securityContext.
func restrictedPodYAML(name, extra, containerExtra string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  securityContext:
    runAsNonRoot: true
    seccompProfile:
      type: RuntimeDefault
%s  containers:
  - name: c
    image: registry.k8s.io/pause:3.10
    securityContext:
%s      capabilities:
        drop: [ALL]
`, name, extra, containerExtra)
}

// An Account that enforces restricted Pod Security has the labels on every Space: Pods that
// break out of the Space (privileged, hostPath, hostNetwork) are refused by kube-apiserver's
// Pod Security Admission, naming the field; a restricted Pod is admitted.
func TestIsolationPodSecurityRefusesEscapes(t *testing.T) {
	t.Parallel()
	_, me, ns := isolatedSpace(t, "iso-psa", "    podSecurity:\n      enforce: restricted\n")
	tenant := cluster.As(me)
	assert.Equal(t, restrictedLabels, podSecurityLabels(context.Background(), t, ns), "the Space is created with the Account's levels")

	for _, tc := range []struct {
		name, extra, containerExtra, refused string
	}{
		{name: "privileged", containerExtra: "      privileged: true\n",
			refused: `privileged (container "c" must not set securityContext.privileged=true)`},
		{name: "hostpath", extra: "  volumes:\n  - name: host\n    hostPath:\n      path: /etc\n",
			containerExtra: "      allowPrivilegeEscalation: false\n", refused: `restricted volume types (volume "host" uses restricted volume type "hostPath")`},
		{name: "hostnetwork", extra: "  hostNetwork: true\n",
			containerExtra: "      allowPrivilegeEscalation: false\n", refused: `host namespaces (hostNetwork=true)`},
		{name: "hostpid", extra: "  hostPID: true\n",
			containerExtra: "      allowPrivilegeEscalation: false\n", refused: `host namespaces (hostPID=true)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tenant.RunWithInput(t, restrictedPodYAML(tc.name, tc.extra, tc.containerExtra), "create", "-n", ns, "-f", "-").Failure(t)
			assert.Contains(t, r.Stderr, fmt.Sprintf(`pods %q is forbidden: violates PodSecurity "restricted:latest": `, tc.name))
			assert.Contains(t, r.Stderr, tc.refused)
			cluster.Admin().Run(t, "get", "pod", tc.name, "-n", ns).Failure(t)
		})
	}
	tenant.RunWithInput(t, restrictedPodYAML("restricted", "", "      allowPrivilegeEscalation: false\n"), "create", "-n", ns, "-f", "-").Success(t)
}

// A tenant cannot remove or weaken the Pod Security labels, nor the record of what the
// server set, by any path: Space update, patch, server-side apply and replace, or the
// namespace itself (label, patch). Each refusal names the key.
func TestIsolationPodSecurityLabelsHeld(t *testing.T) {
	t.Parallel()
	acct, me, ns := isolatedSpace(t, "iso-psa-held", "    podSecurity:\n      enforce: restricted\n")
	tenant := cluster.As(me)
	// With a role that may update and patch the namespace, so that only the guard refuses.
	grantNamespaceUpdate(t, acct+"-updater", ns, me)

	const enforce = "pod-security.kubernetes.io/enforce"
	spaceRefusal := "metadata.labels[" + enforce + "]: Forbidden: pod-security.kubernetes.io/ keys are set by admins only"
	namespaceRefusal := "metadata.labels[" + enforce + "]: pod-security.kubernetes.io/ keys of a Space's namespace are set by admins only"
	current := tenant.Run(t, "get", "space", ns, "-o", "json").Success(t).Stdout
	var obj map[string]any
	require.NoError(t, json.Unmarshal([]byte(current), &obj))
	delete(obj["metadata"].(map[string]any)["labels"].(map[string]any), enforce)
	removed, err := json.Marshal(obj)
	require.NoError(t, err)

	for _, tc := range []struct {
		name    string
		args    []string
		stdin   string
		refused string
	}{
		{name: "space label remove", args: []string{"label", "space", ns, enforce + "-"}, refused: spaceRefusal},
		{name: "space label weaken", args: []string{"label", "space", ns, enforce + "=privileged", "--overwrite"}, refused: spaceRefusal},
		{name: "space merge patch", args: []string{"patch", "space", ns, "--type=merge", "-p", `{"metadata":{"labels":{"` + enforce + `":null}}}`}, refused: spaceRefusal},
		{name: "space json patch", args: []string{"patch", "space", ns, "--type=json", "-p",
			`[{"op":"replace","path":"/metadata/labels/pod-security.kubernetes.io~1enforce","value":"privileged"}]`}, refused: spaceRefusal},
		{name: "space replace", args: []string{"replace", "-f", "-"}, stdin: string(removed), refused: spaceRefusal},
		{name: "space server-side apply", args: []string{"apply", "--server-side", "--force-conflicts", "-f", "-"},
			stdin: spaceWithMeta(ns, acct, "  labels:\n    "+enforce+": privileged\n"), refused: spaceRefusal},
		{name: "space record annotation", args: []string{"annotate", "space", ns, "account.config.kiosk.sh/isolation-keys-"},
			refused: "metadata.annotations[account.config.kiosk.sh/isolation-keys]: Forbidden: kiosk.sh/ keys are set by admins only"},
		{name: "namespace label remove", args: []string{"label", "namespace", ns, enforce + "-"}, refused: namespaceRefusal},
		{name: "namespace label weaken", args: []string{"label", "namespace", ns, enforce + "=privileged", "--overwrite"}, refused: namespaceRefusal},
		{name: "namespace merge patch", args: []string{"patch", "namespace", ns, "--type=merge", "-p",
			`{"metadata":{"labels":{"pod-security.kubernetes.io/warn":null,"pod-security.kubernetes.io/audit":"privileged"}}}`},
			refused: "metadata.labels[pod-security.kubernetes.io/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r framework.Result
			if tc.stdin != "" {
				r = tenant.RunWithInput(t, tc.stdin, tc.args...).Failure(t)
			} else {
				r = tenant.Run(t, tc.args...).Failure(t)
			}
			assert.Contains(t, r.Stderr, tc.refused)
			assert.Equal(t, restrictedLabels, podSecurityLabels(context.Background(), t, ns))
		})
	}
	// The tenant's own labels are theirs to set.
	tenant.Run(t, "label", "space", ns, "tier=gold").Success(t)
}

// The controller keeps the labels: an admin who removes one sees it come back, an adopted
// namespace gets them, an Account edit changes them on every Space, and removing
// spec.isolation.podSecurity removes the labels the server set (and only those).
func TestIsolationPodSecurityKept(t *testing.T) {
	t.Parallel()
	acct, me := framework.UniqueName("iso-psa-kept"), framework.UniqueName("iso-psa-kept-me")
	isolatedAccount(t, acct, me, "    podSecurity:\n      enforce: restricted\n")
	admin := cluster.Admin()
	created, adopted := acct+"-space", acct+"-adopted"
	cluster.As(me).Apply(t, space(created, acct)).Success(t)
	admin.Apply(t, fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: %s\n  labels:\n    kiosk.sh/account: %s\n    team: ops\n", adopted, acct)).Success(t)
	labelsAre := func(want map[string]string, spaces ...string) {
		t.Helper()
		for _, ns := range spaces {
			eventually(t, ns+" has the labels "+fmt.Sprint(want), func(ctx context.Context) bool {
				return assert.ObjectsAreEqual(want, podSecurityLabels(ctx, t, ns))
			})
		}
	}
	labelsAre(restrictedLabels, created, adopted)

	admin.Run(t, "label", "namespace", created, "pod-security.kubernetes.io/enforce-").Success(t)
	labelsAre(restrictedLabels, created)

	admin.Run(t, "patch", "accounts.config.kiosk.sh", acct, "--type=merge", "-p",
		`{"spec":{"isolation":{"podSecurity":{"enforce":"baseline","warn":"restricted","version":"v1.30"}}}}`).Success(t)
	labelsAre(map[string]string{
		"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/enforce-version": "v1.30",
		"pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/warn-version": "v1.30",
		"pod-security.kubernetes.io/audit": "baseline", "pod-security.kubernetes.io/audit-version": "v1.30",
	}, created, adopted)

	admin.Run(t, "patch", "accounts.config.kiosk.sh", acct, "--type=merge", "-p", `{"spec":{"isolation":{"podSecurity":null}}}`).Success(t)
	labelsAre(map[string]string{}, created, adopted)
	got, err := cluster.AdminClients(t).Kube.CoreV1().Namespaces().Get(context.Background(), adopted, metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "ops", got.Labels["team"], "labels the server did not set stay")
	assert.NotContains(t, got.Annotations, "account.config.kiosk.sh/isolation-keys")
}

// spec.isolation.nodes is written as the PodNodeSelector and PodTolerationRestriction
// annotations, for clusters that enable those plugins, and kept like the labels.
func TestIsolationNodeAnnotations(t *testing.T) {
	t.Parallel()
	acct, me := framework.UniqueName("iso-nodes"), framework.UniqueName("iso-nodes-me")
	isolatedAccount(t, acct, me, `    nodes:
      nodeSelector:
        node-restriction.kubernetes.io/tenant: blue
        pool: shared
      tolerations:
      - key: tenant
        operator: Equal
        value: blue
        effect: NoSchedule
`)
	ns := acct + "-space"
	cluster.As(me).Apply(t, space(ns, acct)).Success(t)
	const jsonpath = `jsonpath={.metadata.annotations.scheduler\.alpha\.kubernetes\.io/node-selector}|` +
		`{.metadata.annotations.scheduler\.alpha\.kubernetes\.io/defaultTolerations}|` +
		`{.metadata.annotations.scheduler\.alpha\.kubernetes\.io/tolerationsWhitelist}`
	toleration := `{"key":"tenant","operator":"Equal","value":"blue","effect":"NoSchedule"}`
	want := "node-restriction.kubernetes.io/tenant=blue,pool=shared|[" + toleration + "]|[" + toleration
	for _, key := range []string{"not-ready", "unreachable", "unschedulable", "memory-pressure", "disk-pressure", "pid-pressure", "network-unavailable"} {
		want += `,{"key":"node.kubernetes.io/` + key + `","operator":"Exists"}`
	}
	want += "]"
	admin := cluster.Admin()
	assert.Equal(t, want, admin.Run(t, "get", "namespace", ns, "-o", jsonpath).Success(t).Stdout)

	grantNamespaceUpdate(t, acct+"-updater", ns, me)
	r := cluster.As(me).Run(t, "annotate", "namespace", ns, "scheduler.alpha.kubernetes.io/node-selector=pool=any", "--overwrite").Failure(t)
	assert.Contains(t, r.Stderr, "metadata.annotations[scheduler.alpha.kubernetes.io/node-selector]")

	admin.Run(t, "annotate", "namespace", ns, "scheduler.alpha.kubernetes.io/node-selector-").Success(t)
	eventually(t, "the node selector comes back", func(context.Context) bool {
		return admin.Run(t, "get", "namespace", ns, "-o", jsonpath).Stdout == want
	})
}
