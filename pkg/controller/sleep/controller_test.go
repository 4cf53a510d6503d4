package sleep

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/sleep"
)

const space = "team-dev"

// fixture is a controller over fake clients, with its clock at now, and a Space created an
// hour before now with annotations.
type fixture struct {
	c       *Controller
	kube    *fake.Clientset
	dyn     *dynamicfake.FakeDynamicClient
	indexer cache.Indexer
	now     time.Time
}

func newFixture(t *testing.T, annotations map[string]string, objects ...runtime.Object) *fixture {
	t.Helper()
	now := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: space, Labels: map[string]string{configv1alpha1.AccountLabel: "team"},
		Annotations: annotations, CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	f := &fixture{kube: fake.NewClientset(ns), dyn: dynamicfake.NewSimpleDynamicClient(scheme.Scheme, objects...),
		indexer: cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}), now: now}
	require.NoError(t, f.indexer.Add(ns))
	f.c = &Controller{kube: f.kube, dynamic: f.dyn, namespaces: corelisters.NewNamespaceLister(f.indexer),
		Now: func() time.Time { return f.now }, spaces: map[string]spaceMetrics{}}
	return f
}

// sync runs the controller on the Space as the informer would see it after the last write.
func (f *fixture) sync(t *testing.T) *corev1.Namespace {
	t.Helper()
	ns, err := f.kube.CoreV1().Namespaces().Get(context.Background(), space, metav1.GetOptions{})
	require.NoError(t, err)
	require.NoError(t, f.indexer.Update(ns))
	_, err = f.c.sync(context.Background(), space)
	require.NoError(t, err)
	ns, err = f.kube.CoreV1().Namespaces().Get(context.Background(), space, metav1.GetOptions{})
	require.NoError(t, err)
	return ns
}

func (f *fixture) annotate(t *testing.T, key, value string) {
	t.Helper()
	ns, err := f.kube.CoreV1().Namespaces().Get(context.Background(), space, metav1.GetOptions{})
	require.NoError(t, err)
	if value == "" {
		delete(ns.Annotations, key)
	} else {
		ns.Annotations[key] = value
	}
	_, err = f.kube.CoreV1().Namespaces().Update(context.Background(), ns, metav1.UpdateOptions{})
	require.NoError(t, err)
}

func deployment(name string, replicas int32, annotations map[string]string) *appsv1.Deployment {
	return &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: space, Annotations: annotations},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(replicas)}}
}

func (f *fixture) deployment(t *testing.T, name string) *appsv1.Deployment {
	t.Helper()
	u, err := f.dyn.Resource(scaled[0].gvr).Namespace(space).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	d := &appsv1.Deployment{}
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, d))
	return d
}

func (f *fixture) cronJob(t *testing.T, name string) *batchv1.CronJob {
	t.Helper()
	u, err := f.dyn.Resource(cronJobs).Namespace(space).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(t, err)
	cj := &batchv1.CronJob{}
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, cj))
	return cj
}

// An idle Space sleeps and wakes on activity with exactly what it had: the excluded
// Deployment untouched, the ReplicaSet of a Deployment left to it, the CronJob that was
// suspended already left suspended, and the replicas a user set during the sleep kept.
func TestSleepAndWake(t *testing.T) {
	owned := &appsv1.ReplicaSet{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "ReplicaSet"},
		ObjectMeta: metav1.ObjectMeta{Name: "web-abc", Namespace: space,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: "web", UID: "u1"}}},
		Spec: appsv1.ReplicaSetSpec{Replicas: ptr.To[int32](3)}}
	cron := func(name string, suspend bool) *batchv1.CronJob {
		return &batchv1.CronJob{TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: space}, Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", Suspend: ptr.To(suspend)}}
	}
	f := newFixture(t, map[string]string{sleep.SleepAfter: "600"},
		deployment("web", 3, nil), deployment("api", 2, nil), deployment("monitor", 1, map[string]string{sleep.Exclude: "true"}),
		deployment("off", 0, nil), owned, cron("report", false), cron("paused", true))

	ns := f.sync(t)
	assert.Equal(t, strconv.FormatInt(f.now.Unix(), 10), ns.Annotations[sleep.SleepingSince], "idle for an hour with sleep-after 600")
	assert.Equal(t, sleep.ReasonIdle, ns.Annotations[sleep.SleepReason])
	for name, want := range map[string]string{"web": "3", "api": "2"} {
		d := f.deployment(t, name)
		assert.EqualValues(t, 0, *d.Spec.Replicas, name)
		assert.Equal(t, want, d.Annotations[sleep.Replicas], name)
	}
	assert.EqualValues(t, 1, *f.deployment(t, "monitor").Spec.Replicas, "excluded")
	assert.NotContains(t, f.deployment(t, "off").Annotations, sleep.Replicas, "nothing to save")
	rs, err := f.dyn.Resource(scaled[2].gvr).Namespace(space).Get(context.Background(), "web-abc", metav1.GetOptions{})
	require.NoError(t, err)
	assert.NotContains(t, rs.GetAnnotations(), sleep.Replicas, "a Deployment's ReplicaSet is its Deployment's")
	assert.True(t, *f.cronJob(t, "report").Spec.Suspend)
	assert.Equal(t, "true", f.cronJob(t, "report").Annotations[sleep.Suspended])
	assert.NotContains(t, f.cronJob(t, "paused").Annotations, sleep.Suspended)
	assert.Equal(t, map[string]spaceMetrics{space: {sleeping: true, replicas: 5}}, f.c.spaces)

	// A second sync while asleep (a restart, another event) changes nothing.
	f.now = f.now.Add(time.Minute)
	ns = f.sync(t)
	assert.Equal(t, strconv.FormatInt(f.now.Add(-time.Minute).Unix(), 10), ns.Annotations[sleep.SleepingSince])
	assert.Equal(t, "3", f.deployment(t, "web").Annotations[sleep.Replicas])

	// The user scales api during the sleep, then writes: activity after the sleep began.
	api := f.deployment(t, "api")
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(api)
	require.NoError(t, err)
	u["spec"].(map[string]interface{})["replicas"] = int64(5)
	obj, _ := f.dyn.Resource(scaled[0].gvr).Namespace(space).Get(context.Background(), "api", metav1.GetOptions{})
	obj.Object = u
	_, err = f.dyn.Resource(scaled[0].gvr).Namespace(space).Update(context.Background(), obj, metav1.UpdateOptions{})
	require.NoError(t, err)
	f.now = f.now.Add(time.Minute)
	f.annotate(t, sleep.LastActivity, sleep.FormatUnix(f.now))
	ns = f.sync(t)
	assert.NotContains(t, ns.Annotations, sleep.SleepingSince)
	assert.NotContains(t, ns.Annotations, sleep.SleepReason)
	assert.Equal(t, sleep.FormatUnix(f.now), ns.Annotations[sleep.LastActivity])
	assert.EqualValues(t, 3, *f.deployment(t, "web").Spec.Replicas)
	assert.EqualValues(t, 5, *f.deployment(t, "api").Spec.Replicas, "the user's replicas are kept")
	assert.NotContains(t, f.deployment(t, "web").Annotations, sleep.Replicas)
	assert.NotContains(t, f.deployment(t, "api").Annotations, sleep.Replicas)
	assert.False(t, *f.cronJob(t, "report").Spec.Suspend)
	assert.NotContains(t, f.cronJob(t, "report").Annotations, sleep.Suspended)
	assert.True(t, *f.cronJob(t, "paused").Spec.Suspend, "suspended before the sleep, suspended after")
	assert.Empty(t, f.c.spaces)
}

// force-duration ends a forced sleep: the controller removes force, and the Space wakes.
func TestForceDuration(t *testing.T) {
	f := newFixture(t, map[string]string{sleep.Force: "true", sleep.ForceDuration: "60"}, deployment("web", 2, nil))
	ns := f.sync(t)
	assert.Equal(t, sleep.ReasonForce, ns.Annotations[sleep.SleepReason])
	assert.EqualValues(t, 0, *f.deployment(t, "web").Spec.Replicas)
	f.now = f.now.Add(61 * time.Second)
	ns = f.sync(t)
	assert.NotContains(t, ns.Annotations, sleep.Force)
	ns = f.sync(t)
	assert.NotContains(t, ns.Annotations, sleep.SleepingSince)
	assert.EqualValues(t, 2, *f.deployment(t, "web").Spec.Replicas)
}

// delete-after deletes the Space and gives back its place under the Account's limit.
func TestDeleteAfter(t *testing.T) {
	f := newFixture(t, map[string]string{sleep.DeleteAfter: "3600"})
	var released []string
	f.c.Release = func(_ context.Context, account, name string) error {
		released = append(released, account+"/"+name)
		return nil
	}
	_, err := f.c.sync(context.Background(), space)
	require.NoError(t, err)
	_, err = f.kube.CoreV1().Namespaces().Get(context.Background(), space, metav1.GetOptions{})
	assert.True(t, err != nil, "the namespace is deleted")
	assert.Equal(t, []string{"team/" + space}, released)
}

// Pods that no controller owns are deleted only with delete-all-pods, and never an
// excluded one.
func TestDeleteAllPods(t *testing.T) {
	pod := func(name string, owned bool, annotations map[string]string) *corev1.Pod {
		p := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: space, Annotations: annotations}}
		if owned {
			p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-abc", UID: "u1"}}
		}
		return p
	}
	left := func(f *fixture) []string {
		list, err := f.dyn.Resource(pods).Namespace(space).List(context.Background(), metav1.ListOptions{})
		require.NoError(t, err)
		var names []string
		for _, p := range list.Items {
			names = append(names, p.GetName())
		}
		return names
	}
	objects := func() []runtime.Object {
		return []runtime.Object{pod("bare", false, nil), pod("owned", true, nil), pod("kept", false, map[string]string{sleep.Exclude: "true"})}
	}
	f := newFixture(t, map[string]string{sleep.Force: "true"}, objects()...)
	f.sync(t)
	assert.ElementsMatch(t, []string{"bare", "owned", "kept"}, left(f), "without delete-all-pods")
	f = newFixture(t, map[string]string{sleep.Force: "true", sleep.DeleteAllPods: "true"}, objects()...)
	f.sync(t)
	assert.ElementsMatch(t, []string{"owned", "kept"}, left(f), "with delete-all-pods")
}

// A Space is looked at again when its sleep-after runs out, and not before.
func TestNextLook(t *testing.T) {
	f := newFixture(t, map[string]string{sleep.SleepAfter: "7200"})
	wait, err := f.c.sync(context.Background(), space)
	require.NoError(t, err)
	assert.Equal(t, time.Hour+margin, wait, "created an hour ago, asleep after two")
	f = newFixture(t, map[string]string{})
	wait, err = f.c.sync(context.Background(), space)
	require.NoError(t, err)
	assert.Zero(t, wait, "sleep mode off: nothing to wait for")
}
