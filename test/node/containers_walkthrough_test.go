package node

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// walkthroughManifest is the manifest file of docs/walkthrough.md that pkg/apis decodes in
// its tests, byte for byte.
func walkthroughManifest(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "pkg", "apis", "testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// The container steps of docs/walkthrough.md on the node, as its tenants dev and dba: their
// Pods run (a Deployment's and a bare one), `kubectl describe pod` shows the defaults the
// mandatory Template's LimitRange gave the container, `kubectl get all --as=<tenant>` shows
// the tenant's Pods Running and refuses the other tenant's Space, and dev's Pod reaches
// dba's Pods with no NetworkPolicy (the tutorial's tenant-to-tenant ping). The Template,
// Accounts and Space are the walkthrough's own files and its commands run verbatim: the
// tutorial's images (nginx, redis, brentley/ecsdemo-nodejs) are pulled from docker.io, which
// the node's containerd resolves to the loopback registry alone, where local-up pushed
// hack/standin under those names, listening on the real images' ports.
func TestWalkthroughContainersRunOnTheNode(t *testing.T) { walkthroughContainers(t) }

// walkthroughContainers runs the container steps of docs/walkthrough.md against the server
// installed now.
func walkthroughContainers(t *testing.T) {
	t.Cleanup(func() {
		_, _ = kubectl(t, "delete", "templates.config.kiosk.sh", "space-template", "--ignore-not-found")
	})
	const nodeAccount, redisAccount, dev, dba = "node-account", "redis-account", "dev", "dba"
	removeAccount(t, nodeAccount)
	removeAccount(t, redisAccount)
	for _, file := range []string{"template-definition.yml", "node-account.yml", "redis-account-templates.yml"} {
		must(t, file)(applyAs(t, "", walkthroughManifest(t, file)))
	}
	kioskEdit(t, dev)
	kioskEdit(t, dba)
	must(t, "node-space.yml as dev")(applyAs(t, dev, walkthroughManifest(t, "node-space.yml")))
	tenantSpace(t, dba, "redis-space", redisAccount)
	poll(t, time.Minute, "the mandatory LimitRange is in redis-space", func() bool {
		_, err := kubectl(t, "get", "limitrange", "-n", "redis-space", "container-limit-range")
		return err == nil
	})

	must(t, "Deployment nodejs as dev")(applyAs(t, dev, walkthroughManifest(t, "nodejs-deployment.yml")))
	must(t, "kubectl create deploy redis as dba")(kubectlAs(t, dba, "create", "deploy", "redis", "--image", "redis", "-n", "redis-space"))
	must(t, "kubectl run nginx as dba")(kubectlAs(t, dba, "run", "nginx", "--image", "nginx", "-n", "redis-space", "--restart=Never"))
	must(t, "nginx Running")(kubectl(t, "wait", "-n", "redis-space", "--for=jsonpath={.status.phase}=Running", "pod/nginx", "--timeout=120s"))
	for user, ns := range map[string]string{dev: "node-space", dba: "redis-space"} {
		deploy := map[string]string{dev: "nodejs", dba: "redis"}[user]
		var all string
		poll(t, 2*time.Minute, "kubectl get all -n "+ns+" --as="+user+" shows "+deploy+" Running", func() bool {
			all, _ = kubectlAs(t, user, "get", "all", "-n", ns)
			return regexp.MustCompile(`(?m)^pod/`+deploy+`-\S+\s+1/1\s+Running`).MatchString(all) &&
				regexp.MustCompile(`(?m)^deployment.apps/`+deploy+`\s+1/1`).MatchString(all)
		})
		t.Logf("kubectl get all -n %s --as=%s:\n%s", ns, user, all)
	}
	if out, err := kubectlAs(t, dev, "get", "all", "-n", "redis-space"); err == nil || !strings.Contains(out, "Forbidden") {
		t.Errorf("kubectl get all -n redis-space --as=dev: %v: %s; want Forbidden", err, out)
	}

	describe := must(t, "kubectl describe pod nginx as dba")(kubectlAs(t, dba, "describe", "pod", "nginx", "-n", "redis-space"))
	for what, re := range map[string]string{
		"Status Running":               `(?m)^Status:\s+Running$`,
		"the LimitRange's limit cpu 1": `(?m)^\s+Limits:\n\s+cpu:\s+1$`,
		"its request cpu 500m":         `(?m)^\s+Requests:\n\s+cpu:\s+500m$`,
		"the LimitRanger annotation":   `kubernetes.io/limit-ranger: LimitRanger plugin set: cpu request for container nginx; cpu limit for container nginx`,
	} {
		if !regexp.MustCompile(re).MatchString(describe) {
			t.Errorf("kubectl describe pod nginx does not show %s:\n%s", what, describe)
		}
	}

	// The images came from the loopback registry: the kubelet pulled each (their policy is
	// Always, as for every :latest image) and the container runs the digest it pulled.
	for _, p := range []struct{ ns, selector, name, image string }{
		{"redis-space", "run=nginx", "nginx", "docker.io/library/nginx"},
		{"redis-space", "app=redis", "redis", "docker.io/library/redis"},
		{"node-space", "app=nodejs", "brentley/ecsdemo-nodejs:latest", "docker.io/brentley/ecsdemo-nodejs"},
	} {
		got := must(t, "the image of "+p.selector)(kubectl(t, "get", "pod", "-n", p.ns, "-l", p.selector, "-o",
			"jsonpath={.items[0].spec.containers[0].imagePullPolicy} {.items[0].status.containerStatuses[0].imageID}"))
		if !regexp.MustCompile(`^Always ` + regexp.QuoteMeta(p.image) + `@sha256:[0-9a-f]{64}$`).MatchString(got) {
			t.Errorf("Pod %s in %s: imagePullPolicy and imageID %q, want Always and %s@sha256:…", p.selector, p.ns, got, p.image)
		}
		events := must(t, "the events of "+p.selector)(kubectl(t, "get", "events", "-n", p.ns, "--field-selector=reason=Pulled",
			"-o", "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}"))
		if !strings.Contains(events, `Successfully pulled image "`+p.name+`"`) {
			t.Errorf("no Pulled event in %s for image %s:\n%s", p.ns, p.name, events)
		}
		repo := strings.TrimPrefix(p.image, "docker.io/")
		if want := "HEAD /v2/" + repo + "/manifests/latest?ns=docker.io"; !strings.Contains(registryLog(t), want) {
			t.Errorf("the registry's log has no %q: the node did not pull %s from it", want, p.image)
		}
	}

	// The tenant-to-tenant ping: no NetworkPolicy, so dev's Pod reaches dba's, each stand-in on
	// its image's port.
	ip := must(t, "the IP of nginx")(kubectl(t, "get", "pod", "-n", "redis-space", "nginx", "-o", "jsonpath={.status.podIP}"))
	redisIP := must(t, "the IP of redis")(kubectl(t, "get", "pod", "-n", "redis-space", "-l", "app=redis", "-o", "jsonpath={.items[0].status.podIP}"))
	for _, target := range []string{ip + ":80", redisIP + ":6379"} {
		out, err := kubectlAs(t, dev, "exec", "-n", "node-space", "deploy/nodejs", "--", "/standin", "probe", target)
		if err != nil || !strings.Contains(out, target+": reachable") {
			t.Errorf("dev's Pod probing dba's Pod at %s: %v: %s", target, err, out)
		}
		t.Logf("dev's Pod to dba's Pod at %s: %s", target, out)
	}
}

// docker.io is the loopback registry alone: an image that local-up did not push there fails to
// pull, with the registry's address in the error, and nothing is asked of the real docker.io.
func TestDockerIOIsTheLoopbackRegistryOnly(t *testing.T) {
	const ns = "docker-io-mirror"
	must(t, "namespace "+ns)(kubectl(t, "create", "namespace", ns))
	t.Cleanup(func() { _, _ = kubectl(t, "delete", "namespace", ns, "--wait=false") })
	must(t, "kubectl run busybox")(kubectl(t, "run", "busybox", "--image", "busybox", "-n", ns, "--restart=Never"))
	var events string
	poll(t, 2*time.Minute, "busybox fails to pull", func() bool {
		events, _ = kubectl(t, "get", "events", "-n", ns, "--field-selector=reason=Failed",
			"-o", "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}")
		return strings.Contains(events, `Failed to pull image "busybox"`)
	})
	// The registry answered, with its CA and password: the image is not found there.
	if want := "HEAD /v2/library/busybox/manifests/latest?ns=docker.io 404"; !strings.Contains(registryLog(t), want) {
		t.Errorf("the registry's log has no %q", want)
	}
	if !strings.Contains(events, "docker.io/library/busybox:latest: not found") {
		t.Errorf("the failed pull does not say that busybox is not found:\n%s", events)
	}
	for _, other := range []string{"registry-1.docker.io", "index.docker.io", "x509", "401", "nauthorized"} {
		if strings.Contains(events, other) {
			t.Errorf("the failed pull mentions %q:\n%s", other, events)
		}
	}
	phase := must(t, "busybox's phase")(kubectl(t, "get", "pod", "-n", ns, "busybox", "-o", "jsonpath={.status.phase}"))
	if phase != "Pending" {
		t.Errorf("busybox is %s, want Pending (its image is not in the registry)", phase)
	}
	t.Logf("the failed pull: %s", events)
}

// registryLog is the loopback registry's log: one line for each request it served.
func registryLog(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(localDir, "logs", "registry.log"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
