package node

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// kubectlAs runs kubectl as user (impersonated by the admin, as a tenant's own credentials
// would authenticate them) and returns its trimmed output.
func kubectlAs(t *testing.T, user string, args ...string) (string, error) {
	t.Helper()
	return kubectl(t, append([]string{"--as=" + user}, args...)...)
}

// applyAs applies manifest as user ("" for the admin).
func applyAs(t *testing.T, user, manifest string) (string, error) {
	t.Helper()
	args := []string{"apply", "-f", "-"}
	if user != "" {
		args = append([]string{"--as=" + user}, args...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kubectl", append([]string{"--kubeconfig=" + kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(manifest)
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// must returns a check of kubectl's output and error, for must(t, what)(kubectl(…)): it fails
// the test when the error is not nil, naming what was done, and returns the output.
func must(t *testing.T, what string) func(out string, err error) string {
	return func(out string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v: %s", what, err, out)
		}
		return out
	}
}

// poll checks cond every half second until it holds, and fails the test after timeout.
func poll(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 500*time.Millisecond, timeout, true,
		func(context.Context) (bool, error) { return cond(), nil })
	if err != nil {
		t.Fatalf("waiting %s until %s: %v", timeout, what, err)
	}
}

// tenantAccount makes the Account name whose subject is user, with more of its spec (YAML
// indented by two, or ""), lets user create Spaces (kiosk-edit), and removes all of it and
// the Account's Spaces when the test ends.
func tenantAccount(t *testing.T, name, user, spec string) {
	t.Helper()
	removeAccount(t, name)
	must(t, "Account "+name)(applyAs(t, "", "apiVersion: config.kiosk.sh/v1alpha1\nkind: Account\nmetadata:\n  name: "+name+
		"\nspec:\n  subjects:\n  - kind: User\n    name: "+user+"\n    apiGroup: rbac.authorization.k8s.io\n"+spec))
	kioskEdit(t, user)
}

// removeAccount deletes Account name and its Spaces when the test ends.
func removeAccount(t *testing.T, name string) {
	t.Cleanup(func() {
		_, _ = kubectl(t, "delete", "namespace", "-l", "kiosk.sh/account="+name, "--wait=false")
		_, _ = kubectl(t, "delete", "accounts.config.kiosk.sh", name, "--ignore-not-found")
	})
}

// kioskEdit lets user create Spaces (ClusterRole kiosk-edit) until the test ends.
func kioskEdit(t *testing.T, user string) {
	t.Helper()
	t.Cleanup(func() { _, _ = kubectl(t, "delete", "clusterrolebinding", user+"-kiosk-edit", "--ignore-not-found") })
	must(t, "kiosk-edit for "+user)(kubectl(t, "create", "clusterrolebinding", user+"-kiosk-edit",
		"--clusterrole=kiosk-edit", "--user="+user))
}

// tenantSpace creates Space name of account as user, through the Space API.
func tenantSpace(t *testing.T, user, name, account string) {
	t.Helper()
	must(t, "Space "+name+" as "+user)(applyAs(t, user,
		"apiVersion: tenancy.kiosk.sh/v1alpha1\nkind: Space\nmetadata:\n  name: "+name+"\nspec:\n  account: "+account+"\n"))
}

// restrictedPod is a Pod of the stand-in image, labelled app=name, that meets Pod Security "restricted", running
// standin with args, plus extra YAML under spec (indented by two, or "").
func restrictedPod(name, ns, extraSpec string, args ...string) string {
	return "apiVersion: v1\nkind: Pod\nmetadata:\n  name: " + name + "\n  namespace: " + ns +
		"\n  labels:\n    app: " + name + "\nspec:\n" + extraSpec + "  containers:\n  - name: standin\n    image: " + standinImage +
		"\n    imagePullPolicy: Never\n    args: [\"" + strings.Join(args, "\", \"") + "\"]\n" +
		"    securityContext:\n      runAsNonRoot: true\n      allowPrivilegeEscalation: false\n" +
		"      capabilities:\n        drop: [ALL]\n      seccompProfile:\n        type: RuntimeDefault\n"
}

// runningPod creates Pod name in ns as user from manifest, waits until it is Running, and
// returns its IP.
func runningPod(t *testing.T, user, ns, name, manifest string) string {
	t.Helper()
	must(t, "Pod "+ns+"/"+name+" as "+user)(applyAs(t, user, manifest))
	if out, err := kubectl(t, "wait", "-n", ns, "--for=jsonpath={.status.phase}=Running", "pod/"+name, "--timeout=120s"); err != nil {
		desc, _ := kubectl(t, "describe", "pod", "-n", ns, name)
		t.Fatalf("Pod %s/%s did not reach Running: %v: %s\n%s", ns, name, err, out, desc)
	}
	return must(t, "the IP of "+ns+"/"+name)(kubectl(t, "get", "pod", "-n", ns, name, "-o", "jsonpath={.status.podIP}"))
}
