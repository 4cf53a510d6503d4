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

// walkthroughDeployment is a Deployment of the walkthrough's: name, one replica of image,
// taken from the node's containerd (imagePullPolicy Never, as the node has no registry for
// the tutorial's image names yet), with extra YAML under the container (indented by eight).
func walkthroughDeployment(name, ns, image, extra string) string {
	return "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: " + name + "\n  namespace: " + ns +
		"\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: " + name +
		"\n  template:\n    metadata:\n      labels:\n        app: " + name +
		"\n    spec:\n      containers:\n      - name: " + name + "\n        image: " + image +
		"\n        imagePullPolicy: Never\n" + extra
}

// The container steps of docs/walkthrough.md on the node, as its tenants dev and dba: their
// Pods run (a Deployment's and a bare one), `kubectl describe pod` shows the defaults the
// mandatory Template's LimitRange gave the container, `kubectl get all --as=<tenant>` shows
// the tenant's Pods Running and refuses the other tenant's Space, and dev's Pod reaches
// dba's Pod with no NetworkPolicy (the tutorial's tenant-to-tenant ping). The Template,
// Accounts and Space are the walkthrough's own files; the tutorial's images (nginx, redis,
// brentley/ecsdemo-nodejs) are the stand-in under their names.
func TestWalkthroughContainersRunOnTheNode(t *testing.T) {
	standin := importStandin(t)
	for _, name := range []string{"docker.io/library/nginx:latest", "docker.io/library/redis:latest", "docker.io/brentley/ecsdemo-nodejs:latest"} {
		tagImage(t, standin, name)
	}
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

	must(t, "Deployment nodejs as dev")(applyAs(t, dev, walkthroughDeployment("nodejs", "node-space", "brentley/ecsdemo-nodejs:latest",
		"        resources:\n          requests:\n            cpu: 1\n          limits:\n            cpu: 2\n")))
	must(t, "Deployment redis as dba")(applyAs(t, dba, walkthroughDeployment("redis", "redis-space", "redis", "")))
	must(t, "kubectl run nginx as dba")(kubectlAs(t, dba, "run", "nginx", "--image", "nginx", "--image-pull-policy=Never",
		"-n", "redis-space", "--restart=Never"))
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

	// The tenant-to-tenant ping: no NetworkPolicy, so dev's Pod reaches dba's.
	ip := must(t, "the IP of nginx")(kubectl(t, "get", "pod", "-n", "redis-space", "nginx", "-o", "jsonpath={.status.podIP}"))
	out, err := kubectlAs(t, dev, "exec", "-n", "node-space", "deploy/nodejs", "--", "/standin", "probe", ip+":8080")
	if err != nil || !strings.Contains(out, ip+":8080: reachable") {
		t.Errorf("dev's Pod probing dba's nginx at %s: %v: %s", ip, err, out)
	}
	t.Logf("dev's Pod to dba's nginx: %s", out)
}
