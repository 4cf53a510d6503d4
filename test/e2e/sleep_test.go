package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/sleep"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// sleepTenant is an Account with an AccountQuota on pods, its tenant, and the tenant's Space.
type sleepTenant struct {
	account, user, space string
	tenant               framework.Kubectl
	admin                framework.Clients
}

// newSleepTenant makes an Account whose spaceTemplate sets templateAnnotations (YAML
// indented under annotations, "" for none) and an AccountQuota of 20 pods, and lets its
// tenant create a Space with spaceAnnotations.
func newSleepTenant(t *testing.T, prefix, templateAnnotations string, spaceAnnotations map[string]string) sleepTenant {
	t.Helper()
	st := sleepTenant{account: framework.UniqueName(prefix), user: framework.UniqueName(prefix + "-dev"), admin: cluster.AdminClients(t)}
	st.space, st.tenant = st.account+"-space", cluster.As(st.user)
	admin := cluster.Admin()
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", "-l", "kiosk.sh/account="+st.account, "--wait=false").Deleted(t)
		admin.Run(t, "delete", "accountquotas.config.kiosk.sh", st.account, "--ignore-not-found").Deleted(t)
		admin.Run(t, "delete", "accounts.config.kiosk.sh", st.account, "--ignore-not-found").Deleted(t)
	})
	spaceSpec := "    limit: 1\n"
	if templateAnnotations != "" {
		spaceSpec += "    spaceTemplate:\n      metadata:\n        annotations:\n" + templateAnnotations
	}
	admin.Apply(t, accountYAML(st.account, st.user, spaceSpec)).Success(t)
	admin.Apply(t, fmt.Sprintf("apiVersion: config.kiosk.sh/v1alpha1\nkind: AccountQuota\nmetadata:\n  name: %s\nspec:\n  account: %s\n  quota:\n    hard:\n      pods: \"20\"\n",
		st.account, st.account)).Success(t)
	grantKioskEdit(t, st.admin, st.account, st.user)
	st.tenant.Apply(t, spaceWithAnnotations(st.space, st.account, spaceAnnotations)).Success(t)
	// Annotating a Space is updating its namespace, which the admin role does not grant.
	admin.Apply(t, fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: space-annotator
  namespace: %[1]s
rules:
- apiGroups: [""]
  resources: [namespaces]
  resourceNames: [%[1]s]
  verbs: [get, update, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: space-annotator
  namespace: %[1]s
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: space-annotator
subjects:
- kind: User
  name: %[2]s
  apiGroup: rbac.authorization.k8s.io
`, st.space, st.user)).Success(t)
	eventually(t, "the tenant may create Deployments in the Space and annotate it", func(context.Context) bool {
		return st.tenant.Run(t, "auth", "can-i", "create", "deployments", "-n", st.space).Err == nil &&
			st.tenant.Run(t, "auth", "can-i", "update", "namespace/"+st.space, "-n", st.space).Err == nil
	})
	return st
}

func spaceWithAnnotations(name, account string, annotations map[string]string) string {
	out := fmt.Sprintf("apiVersion: tenancy.kiosk.sh/v1alpha1\nkind: Space\nmetadata:\n  name: %s\n", name)
	if len(annotations) > 0 {
		out += "  annotations:\n"
		for k, v := range annotations {
			out += fmt.Sprintf("    %s: %q\n", k, v)
		}
	}
	return out + "spec:\n  account: " + account + "\n"
}

// workloads creates, as the tenant, a Deployment of 3 replicas, a StatefulSet of 2, an
// excluded Deployment of 1 and a CronJob in the Space.
func (st sleepTenant) workloads(t *testing.T) {
	t.Helper()
	st.tenant.Apply(t, deploymentYAML("web", st.space, 3, "      containers:\n      - name: app\n        image: nginx\n")+"---\n"+
		fmt.Sprintf(`apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
  namespace: %[1]s
spec:
  replicas: 2
  serviceName: db
  podManagementPolicy: Parallel
  selector:
    matchLabels:
      app: db
  template:
    metadata:
      labels:
        app: db
    spec:
      containers:
      - name: db
        image: redis
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
  namespace: %[1]s
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
          - name: report
            image: busybox
`, st.space)).Success(t)
	st.tenant.Apply(t, strings.Replace(deploymentYAML("monitor", st.space, 1, "      containers:\n      - name: app\n        image: nginx\n"),
		"  namespace: "+st.space+"\n", "  namespace: "+st.space+"\n  annotations:\n    "+sleep.Exclude+": \"true\"\n", 1)).Success(t)
}

// namespace reads the Space's namespace as the admin.
func (st sleepTenant) namespace(ctx context.Context) (*corev1.Namespace, error) {
	return st.admin.Kube.CoreV1().Namespaces().Get(ctx, st.space, metav1.GetOptions{})
}

func (st sleepTenant) deployment(ctx context.Context, name string) (*appsv1.Deployment, error) {
	return st.admin.Kube.AppsV1().Deployments(st.space).Get(ctx, name, metav1.GetOptions{})
}

// asleep reports whether the Space sleeps with everything scaled down: the workloads at 0
// replicas with what they had recorded, the CronJob suspended, no Pod left but the excluded
// Deployment's, and the AccountQuota's usage down to that Pod.
func (st sleepTenant) asleep(ctx context.Context, t *testing.T, web, db int) bool {
	ns, err := st.namespace(ctx)
	if err != nil || ns.Annotations[sleep.SleepingSince] == "" {
		return false
	}
	d, err := st.deployment(ctx, "web")
	if err != nil || *d.Spec.Replicas != 0 || d.Annotations[sleep.Replicas] != fmt.Sprint(web) {
		return false
	}
	s, err := st.admin.Kube.AppsV1().StatefulSets(st.space).Get(ctx, "db", metav1.GetOptions{})
	if err != nil || *s.Spec.Replicas != 0 || s.Annotations[sleep.Replicas] != fmt.Sprint(db) {
		return false
	}
	cj, err := st.admin.Kube.BatchV1().CronJobs(st.space).Get(ctx, "report", metav1.GetOptions{})
	if err != nil || cj.Spec.Suspend == nil || !*cj.Spec.Suspend || cj.Annotations[sleep.Suspended] != "true" {
		return false
	}
	return st.excludedUntouched(ctx, t) && st.pods(ctx) == 1 && st.quotaPods(ctx) == "1"
}

// awake reports whether the Space is awake with what it had before sleeping.
func (st sleepTenant) awake(ctx context.Context, web, db int) bool {
	ns, err := st.namespace(ctx)
	if err != nil || ns.Annotations[sleep.SleepingSince] != "" {
		return false
	}
	d, err := st.deployment(ctx, "web")
	if err != nil || *d.Spec.Replicas != int32(web) || d.Annotations[sleep.Replicas] != "" {
		return false
	}
	s, err := st.admin.Kube.AppsV1().StatefulSets(st.space).Get(ctx, "db", metav1.GetOptions{})
	if err != nil || *s.Spec.Replicas != int32(db) || s.Annotations[sleep.Replicas] != "" {
		return false
	}
	cj, err := st.admin.Kube.BatchV1().CronJobs(st.space).Get(ctx, "report", metav1.GetOptions{})
	return err == nil && cj.Spec.Suspend != nil && !*cj.Spec.Suspend && cj.Annotations[sleep.Suspended] == ""
}

// excludedUntouched reports whether the excluded Deployment still has its one replica and
// no record of sleep mode.
func (st sleepTenant) excludedUntouched(ctx context.Context, t *testing.T) bool {
	d, err := st.deployment(ctx, "monitor")
	if err != nil {
		return false
	}
	assert.EqualValues(t, 1, *d.Spec.Replicas, "the excluded Deployment was scaled")
	assert.NotContains(t, d.Annotations, sleep.Replicas, "the excluded Deployment was recorded")
	return true
}

func (st sleepTenant) pods(ctx context.Context) int {
	list, err := st.admin.Kube.CoreV1().Pods(st.space).List(ctx, metav1.ListOptions{})
	if err != nil {
		return -1
	}
	n := 0
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			n++
		}
	}
	return n
}

// quotaPods is the AccountQuota's recorded pod usage.
func (st sleepTenant) quotaPods(ctx context.Context) string {
	q, err := st.admin.Kiosk.ConfigV1alpha1().AccountQuotas().Get(ctx, st.account, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	used := q.Status.Total.Used[corev1.ResourcePods]
	return used.String()
}

// within polls cond every 200ms until it holds or timeout passes.
func within(t *testing.T, timeout time.Duration, what string, cond func(ctx context.Context) bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true,
		func(ctx context.Context) (bool, error) { return cond(ctx), nil })
	require.NoError(t, err, "waiting until %s", what)
}

// A Space with sleep-after: 5 and nothing going on sleeps: its Deployment, StatefulSet and
// CronJob are scaled down and suspended, its Pods go and its AccountQuota is freed, while
// its excluded Deployment runs on. A list of Spaces does not wake it; the tenant's
// kubectl create configmap does, and everything comes back as it was.
func TestSleepAfterIdleAndWakeOnWrite(t *testing.T) {
	t.Parallel()
	st := newSleepTenant(t, "e2e-sleep-idle", "", map[string]string{sleep.SleepAfter: "5"})
	st.workloads(t)
	within(t, 90*time.Second, "the idle Space sleeps", func(ctx context.Context) bool { return st.asleep(ctx, t, 3, 2) })

	out := st.tenant.Run(t, "get", "spaces").Success(t).Stdout
	assert.Regexp(t, st.space+`\s+`+st.account+`\s+Sleeping`, out)
	wide := st.tenant.Run(t, "get", "spaces", "-o", "wide").Success(t).Stdout
	assert.Contains(t, wide, "SLEEPING SINCE")
	ns, err := st.namespace(context.Background())
	require.NoError(t, err)
	assert.NotEmpty(t, ns.Annotations[sleep.SleepingSince], "a list of Spaces is no activity")

	st.tenant.Run(t, "create", "configmap", "wake-up", "-n", st.space).Success(t)
	within(t, 30*time.Second, "the Space wakes with its replicas and CronJob back", func(ctx context.Context) bool {
		return st.awake(ctx, 3, 2)
	})
	out = st.tenant.Run(t, "get", "spaces", st.space).Success(t).Stdout
	assert.NotContains(t, out, "Sleeping")
}

// A get of one Space through the server is activity: it wakes the Space.
func TestSleepSpaceGetWakes(t *testing.T) {
	t.Parallel()
	st := newSleepTenant(t, "e2e-sleep-get", "", map[string]string{sleep.SleepAfter: "5"})
	st.workloads(t)
	within(t, 90*time.Second, "the idle Space sleeps", func(ctx context.Context) bool { return st.asleep(ctx, t, 3, 2) })
	st.tenant.Run(t, "get", "space", st.space).Success(t)
	within(t, 30*time.Second, "the Space wakes", func(ctx context.Context) bool { return st.awake(ctx, 3, 2) })
}

// force puts a Space to sleep at once, and only removing it wakes the Space. A workload the
// tenant scaled during the sleep keeps the tenant's replicas; the excluded one is never
// touched.
func TestSleepForce(t *testing.T) {
	t.Parallel()
	st := newSleepTenant(t, "e2e-sleep-force", "", nil)
	st.workloads(t)
	// The Deployments' Pods; without the node, no StatefulSet controller makes the StatefulSet's.
	within(t, 60*time.Second, "the Space's Pods are created", func(ctx context.Context) bool { return st.pods(ctx) >= 4 })
	st.tenant.Run(t, "annotate", "space", st.space, sleep.Force+"=true").Success(t)
	within(t, 30*time.Second, "the forced Space sleeps", func(ctx context.Context) bool { return st.asleep(ctx, t, 3, 2) })

	// The tenant scales the StatefulSet while the Space sleeps: that is theirs to keep.
	st.tenant.Run(t, "scale", "statefulset", "db", "--replicas=4", "-n", st.space).Success(t)
	st.tenant.Run(t, "annotate", "space", st.space, sleep.Force+"-").Success(t)
	within(t, 30*time.Second, "removing force wakes the Space, the StatefulSet keeping the tenant's replicas", func(ctx context.Context) bool {
		return st.awake(ctx, 3, 4)
	})
	st.excludedUntouched(context.Background(), t)
}

// scheduleSlack is how late after a schedule's firing the controller may act.
const scheduleSlack = 5 * time.Second

// A sleep schedule and a wakeup schedule of every minute: the Space sleeps at the next
// minute, and wakes at the one after.
func TestSleepSchedules(t *testing.T) {
	t.Parallel()
	st := newSleepTenant(t, "e2e-sleep-cron", "", map[string]string{
		sleep.SleepSchedule: "* * * * *", sleep.WakeupSchedule: "* * * * *", sleep.Timezone: "Europe/Berlin"})
	st.workloads(t)
	within(t, 100*time.Second, "the sleep schedule puts the Space to sleep", func(ctx context.Context) bool { return st.asleep(ctx, t, 3, 2) })
	ns, err := st.namespace(context.Background())
	require.NoError(t, err)
	assert.Equal(t, sleep.ReasonSchedule, ns.Annotations[sleep.SleepReason])
	slept := sleep.Unix(ns.Annotations, sleep.SleepingSince)
	// The controller acts when the schedule fires; a loaded machine may delay it by seconds.
	minute := slept.Truncate(time.Minute)
	assert.Less(t, slept.Sub(minute), scheduleSlack, "the Space fell asleep on the minute, as the schedule fired")
	within(t, 100*time.Second, "the wakeup schedule wakes the Space", func(ctx context.Context) bool { return st.awake(ctx, 3, 2) })
	ns, err = st.namespace(context.Background())
	require.NoError(t, err)
	woke := sleep.Unix(ns.Annotations, sleep.LastActivity)
	assert.WithinRange(t, woke, minute.Add(time.Minute), minute.Add(time.Minute+scheduleSlack), "the Space woke on the next minute")
}

// delete-after deletes an idle Space; its Account and Space limit see it go.
func TestSleepDeleteAfter(t *testing.T) {
	t.Parallel()
	st := newSleepTenant(t, "e2e-sleep-delete", "", map[string]string{sleep.DeleteAfter: "5"})
	ctx := context.Background()
	within(t, 90*time.Second, "the idle Space is deleted", func(ctx context.Context) bool {
		ns, err := st.namespace(ctx)
		return apierrors.IsNotFound(err) || (err == nil && ns.DeletionTimestamp != nil)
	})
	within(t, 60*time.Second, "the Account no longer lists the Space", func(ctx context.Context) bool {
		a, err := st.admin.Kiosk.ConfigV1alpha1().Accounts().Get(ctx, st.account, metav1.GetOptions{})
		if err != nil {
			return false
		}
		for _, n := range a.Status.Namespaces {
			if n.Name == st.space {
				return false
			}
		}
		return true
	})
	within(t, 60*time.Second, "the namespace is gone", func(ctx context.Context) bool {
		_, err := st.namespace(ctx)
		return apierrors.IsNotFound(err)
	})
	// The Account's limit of one Space is free again.
	st.tenant.Apply(t, space(st.space+"-2", st.account)).Success(t)
	_, err := st.admin.Kube.CoreV1().Namespaces().Get(ctx, st.space+"-2", metav1.GetOptions{})
	require.NoError(t, err)
}

// Loft's annotations set through an Account's spaceTemplate apply to its new Spaces.
func TestSleepFromSpaceTemplate(t *testing.T) {
	t.Parallel()
	st := newSleepTenant(t, "e2e-sleep-template", "          "+sleep.SleepAfter+": \"5\"\n", nil)
	ns, err := st.namespace(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "5", ns.Annotations[sleep.SleepAfter])
	st.workloads(t)
	within(t, 90*time.Second, "the Space sleeps", func(ctx context.Context) bool { return st.asleep(ctx, t, 3, 2) })
	// The tenant cannot turn it off: the Account's spaceTemplate sets it.
	out := st.tenant.Run(t, "annotate", "space", st.space, sleep.SleepAfter+"-").Failure(t)
	assert.Contains(t, out.Stderr, "metadata.annotations["+sleep.SleepAfter+"]")
}

// Bad values are refused when they are set, naming the annotation: on Space create and
// update, and in an Account's spaceTemplate. Sleep mode's state is the server's to write.
func TestSleepAnnotationsValidated(t *testing.T) {
	t.Parallel()
	st := newSleepTenant(t, "e2e-sleep-valid", "", nil)
	admin := cluster.Admin()
	out := st.tenant.Run(t, "annotate", "space", st.space, sleep.SleepAfter+"=an hour").Failure(t)
	assert.Contains(t, out.Stderr, `metadata.annotations[`+sleep.SleepAfter+`]: Invalid value: "an hour": must be a whole number of seconds`)
	out = st.tenant.Run(t, "annotate", "space", st.space, sleep.Timezone+"=Mars/Olympus").Failure(t)
	assert.Contains(t, out.Stderr, `metadata.annotations[`+sleep.Timezone+`]`)
	out = st.tenant.Run(t, "annotate", "space", st.space, sleep.SleepSchedule+"=every night").Failure(t)
	assert.Contains(t, out.Stderr, `metadata.annotations[`+sleep.SleepSchedule+`]`)
	out = st.tenant.Run(t, "annotate", "space", st.space, sleep.SleepingSince+"=0").Failure(t)
	assert.Contains(t, out.Stderr, "sleep mode's state is written by the server")
	st.tenant.Run(t, "annotate", "space", st.space, sleep.SleepSchedule+"=0 20 * * 1-5", sleep.Timezone+"=Europe/Berlin").Success(t)

	// On create, as the admin too.
	name := framework.UniqueName("e2e-sleep-invalid")
	out = admin.Apply(t, spaceWithAnnotations(name, st.account, map[string]string{sleep.DeleteAfter: "-5"})).Failure(t)
	assert.Contains(t, out.Stderr, `metadata.annotations[`+sleep.DeleteAfter+`]`)
	_, err := st.admin.Kube.CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "no namespace for a refused Space: %v", err)

	// In the Account's spaceTemplate.
	out = admin.Run(t, "patch", "accounts.config.kiosk.sh", st.account, "--type=merge",
		"-p", `{"spec":{"space":{"spaceTemplate":{"metadata":{"annotations":{"`+sleep.ForceDuration+`":"soon"}}}}}}`).Failure(t)
	assert.Contains(t, out.Stderr, `spec.space.spaceTemplate.metadata.annotations[`+sleep.ForceDuration+`]`)
}

// The server restarted while a Space sleeps: everything it needs is in annotations, and the
// Space wakes with what it had.
func TestSleepAcrossRestart(t *testing.T) {
	st := newSleepTenant(t, "e2e-sleep-restart", "", nil)
	st.workloads(t)
	st.tenant.Run(t, "annotate", "space", st.space, sleep.Force+"=true").Success(t)
	within(t, 30*time.Second, "the forced Space sleeps", func(ctx context.Context) bool { return st.asleep(ctx, t, 3, 2) })
	cluster.RestartTenancy(t)
	st.tenant.Run(t, "annotate", "space", st.space, sleep.Force+"-").Success(t)
	within(t, 60*time.Second, "the Space wakes after the restart", func(ctx context.Context) bool { return st.awake(ctx, 3, 2) })
	st.excludedUntouched(context.Background(), t)
}

// kubectl space sleep puts a Space to sleep, kubectl space list shows it Sleeping, and
// kubectl space wake wakes it.
func TestPluginSleepWake(t *testing.T) {
	t.Parallel()
	bin := buildPlugins(t)
	st := newSleepTenant(t, "e2e-sleep-plugin", "", nil)
	st.workloads(t)
	tenant := newPluginUser(t, bin, st.user)
	r := tenant.run(t, "space", "sleep", st.space).Success(t)
	assert.Equal(t, "space.tenancy.kiosk.sh/"+st.space+" put to sleep\n", r.Stdout)
	within(t, 30*time.Second, "the Space sleeps", func(ctx context.Context) bool { return st.asleep(ctx, t, 3, 2) })
	r = tenant.run(t, "space", "list").Success(t)
	assert.Regexp(t, st.space+`\s+`+st.account+`\s+Sleeping`, r.Stdout)
	r = tenant.run(t, "space", "wake", st.space).Success(t)
	assert.Equal(t, "space.tenancy.kiosk.sh/"+st.space+" woken\n", r.Stdout)
	within(t, 30*time.Second, "the Space wakes", func(ctx context.Context) bool { return st.awake(ctx, 3, 2) })
	r = tenant.run(t, "space", "list").Success(t)
	assert.Regexp(t, st.space+`\s+`+st.account+`\s+Active`, r.Stdout)
	tenant.run(t, "space", "sleep", st.space+"-missing").Failure(t)
}
