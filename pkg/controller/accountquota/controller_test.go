package accountquota

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/scheme"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/controller/controllertest"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/quota"
)

// webhookManager is the field manager of the admission webhook's charges, by which the
// recount knows that the webhook charged a quota recently.
const webhookManager = quota.ChargeFieldManager

// running is a controller over fake clientsets whose informers have synced.
type running struct {
	*controllertest.Env
	c *Controller
}

// newRunning returns a controller over objs, and over listed, the objects other than pods
// and namespaces that the recount lists, with started, synced informers.
func newRunning(t *testing.T, objs []runtime.Object, listed ...runtime.Object) *running {
	t.Helper()
	r := &running{Env: controllertest.NewEnv(objs...)}
	core := r.KubeInformers.Core().V1()
	c, err := New(r.Config, dynamicfake.NewSimpleDynamicClient(scheme.Scheme, listed...), controllertest.NewMapper(),
		r.ConfigInformers.Config().V1alpha1().AccountQuotas(), core.Namespaces(), core.Pods())
	require.NoError(t, err)
	r.c = c
	r.Start(t)
	return r
}

func (r *running) quota(t require.TestingT) *configv1alpha1.AccountQuota {
	q, err := r.Config.ConfigV1alpha1().AccountQuotas().Get(r.Ctx, "acme", metav1.GetOptions{})
	require.NoError(t, err)
	return q
}

// quotaOf is AccountQuota acme of Account acme, with hard limits given as name, quantity.
func quotaOf(hard ...string) *configv1alpha1.AccountQuota {
	q := &configv1alpha1.AccountQuota{ObjectMeta: metav1.ObjectMeta{Name: "acme"}}
	q.Spec.Account = "acme"
	q.Spec.Quota.Hard = corev1.ResourceList{}
	for i := 0; i+1 < len(hard); i += 2 {
		q.Spec.Quota.Hard[corev1.ResourceName(hard[i])] = resource.MustParse(hard[i+1])
	}
	return q
}

// charged is q with usage used (name, quantity), charged by the webhook at when.
func charged(q *configv1alpha1.AccountQuota, when time.Time, used ...string) *configv1alpha1.AccountQuota {
	q.Status.Total.Hard = q.Spec.Quota.Hard
	q.Status.Total.Used = quotaOf(used...).Spec.Quota.Hard
	q.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: webhookManager, Operation: metav1.ManagedFieldsOperationUpdate,
		Subresource: "status", Time: &metav1.Time{Time: when}}}
	return q
}

func spaceOf(name, account string) *corev1.Namespace {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if account != "" {
		ns.Labels = map[string]string{configv1alpha1.AccountLabel: account}
	}
	return ns
}

// podOf is a Pod in namespace requesting cpu (none when empty), in phase.
func podOf(namespace, name, cpu string, phase corev1.PodPhase) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}},
		Status: corev1.PodStatus{Phase: phase}}
	if cpu != "" {
		p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}
	}
	return p
}

func configMapIn(namespace, name string) *corev1.ConfigMap {
	return &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
}

// amounts is list as name: quantity, for comparisons that do not depend on a quantity's
// format.
func amounts(list corev1.ResourceList) map[string]string {
	out := map[string]string{}
	for name, q := range list {
		out[string(name)] = q.String()
	}
	return out
}

// The recount sums what the objects in the Account's Spaces use of the hard limits, writes
// it to status.total and each Space's share to status.namespaces, and counts nothing
// outside the Account.
func TestSyncRecountsFromObjects(t *testing.T) {
	objs := []runtime.Object{
		spaceOf("s1", "acme"), spaceOf("s2", "acme"), spaceOf("other", "other"), spaceOf("plain", ""),
		podOf("s1", "web", "200m", corev1.PodRunning), podOf("s1", "job", "1", corev1.PodSucceeded),
		podOf("s2", "db", "500m", corev1.PodPending), podOf("s2", "best-effort", "", corev1.PodRunning),
		podOf("other", "web", "2", corev1.PodRunning), podOf("plain", "web", "2", corev1.PodRunning),
	}
	listed := []runtime.Object{configMapIn("s1", "a"), configMapIn("s2", "b"), configMapIn("s2", "c"), configMapIn("other", "d")}
	for _, tc := range []struct {
		name  string
		quota *configv1alpha1.AccountQuota
		total map[string]string
		s1    map[string]string
		s2    map[string]string
	}{
		{name: "pods and cpu: terminal pods use nothing", quota: quotaOf("pods", "10", "requests.cpu", "4"),
			total: map[string]string{"pods": "3", "requests.cpu": "700m"},
			s1:    map[string]string{"pods": "1", "requests.cpu": "200m"},
			s2:    map[string]string{"pods": "2", "requests.cpu": "500m"}},
		{name: "object counts", quota: quotaOf("count/configmaps", "5"),
			total: map[string]string{"count/configmaps": "3"},
			s1:    map[string]string{"count/configmaps": "1"},
			s2:    map[string]string{"count/configmaps": "2"}},
		{name: "scoped to BestEffort pods", quota: func() *configv1alpha1.AccountQuota {
			q := quotaOf("pods", "10")
			q.Spec.Quota.Scopes = []corev1.ResourceQuotaScope{corev1.ResourceQuotaScopeBestEffort}
			return q
		}(), total: map[string]string{"pods": "1"}, s1: map[string]string{"pods": "0"}, s2: map[string]string{"pods": "1"}},
		{name: "stale usage is replaced", quota: charged(quotaOf("pods", "10"), time.Now().Add(-time.Hour), "pods", "9"),
			total: map[string]string{"pods": "3"}, s1: map[string]string{"pods": "1"}, s2: map[string]string{"pods": "2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRunning(t, append([]runtime.Object{tc.quota}, objs...), listed...)
			require.NoError(t, r.c.Sync(r.Ctx, "acme"))
			q := r.quota(t)
			assert.Equal(t, amounts(tc.quota.Spec.Quota.Hard), amounts(q.Status.Total.Hard))
			assert.Equal(t, tc.total, amounts(q.Status.Total.Used))
			require.Len(t, q.Status.Namespaces, 2)
			assert.Equal(t, "s1", q.Status.Namespaces[0].Namespace)
			assert.Equal(t, tc.s1, amounts(q.Status.Namespaces[0].Status.Used))
			assert.Equal(t, "s2", q.Status.Namespaces[1].Namespace)
			assert.Equal(t, tc.s2, amounts(q.Status.Namespaces[1].Status.Used))
		})
	}
}

// For 10 s after the webhook charged a quota, the recount does not lower the usage below
// what was charged: the admitted objects may not be stored, or seen, yet. It raises it,
// and lowers it once the window has passed.
func TestSyncKeepsRecentCharges(t *testing.T) {
	chargedAt := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	objs := []runtime.Object{spaceOf("s1", "acme"), podOf("s1", "a", "100m", corev1.PodRunning), podOf("s1", "b", "100m", corev1.PodRunning)}
	for _, tc := range []struct {
		name    string
		charged []string
		after   time.Duration
		want    map[string]string
	}{
		{name: "just charged: not lowered", charged: []string{"pods", "5", "requests.cpu", "1"}, after: time.Second,
			want: map[string]string{"pods": "5", "requests.cpu": "1"}},
		{name: "just charged, one resource below the count: that one raised", charged: []string{"pods", "5", "requests.cpu", "100m"},
			after: 9 * time.Second, want: map[string]string{"pods": "5", "requests.cpu": "200m"}},
		{name: "charged 10 s ago: lowered to the count", charged: []string{"pods", "5", "requests.cpu", "1"}, after: 10 * time.Second,
			want: map[string]string{"pods": "2", "requests.cpu": "200m"}},
		{name: "charged long ago: lowered to the count", charged: []string{"pods", "5", "requests.cpu", "1"}, after: time.Hour,
			want: map[string]string{"pods": "2", "requests.cpu": "200m"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := charged(quotaOf("pods", "10", "requests.cpu", "4"), chargedAt, tc.charged...)
			r := newRunning(t, append([]runtime.Object{q}, objs...))
			r.c.now = func() time.Time { return chargedAt.Add(tc.after) }
			require.NoError(t, r.c.Sync(r.Ctx, "acme"))
			got := r.quota(t)
			assert.Equal(t, tc.want, amounts(got.Status.Total.Used))
			require.Len(t, got.Status.Namespaces, 1)
			assert.Equal(t, map[string]string{"pods": "2", "requests.cpu": "200m"}, amounts(got.Status.Namespaces[0].Status.Used),
				"a Space's share is always what its objects use")
		})
	}
}

// A running controller recounts when pods come and go and when a namespace joins the
// Account.
func TestRunRecountsOnChanges(t *testing.T) {
	r := newRunning(t, []runtime.Object{quotaOf("pods", "10"), spaceOf("s1", "acme"), podOf("s1", "a", "", corev1.PodRunning)})
	controllertest.Run(t, r.Ctx, r.c.Run)
	waitUsed := func(pods string, spaces ...string) {
		t.Helper()
		controllertest.Eventually(t, func(c *assert.CollectT) {
			q := r.quota(c)
			assert.Equal(c, map[string]string{"pods": pods}, amounts(q.Status.Total.Used))
			var names []string
			for _, n := range q.Status.Namespaces {
				names = append(names, n.Namespace)
			}
			assert.Equal(c, spaces, names)
		})
	}
	waitUsed("1", "s1")

	_, err := r.Kube.CoreV1().Pods("s1").Create(r.Ctx, podOf("s1", "b", "", corev1.PodRunning), metav1.CreateOptions{})
	require.NoError(t, err)
	waitUsed("2", "s1")

	require.NoError(t, r.Kube.CoreV1().Pods("s1").Delete(r.Ctx, "a", metav1.DeleteOptions{}))
	waitUsed("1", "s1")

	_, err = r.Kube.CoreV1().Pods("s2").Create(r.Ctx, podOf("s2", "c", "", corev1.PodRunning), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = r.Kube.CoreV1().Namespaces().Create(r.Ctx, spaceOf("s2", "acme"), metav1.CreateOptions{})
	require.NoError(t, err)
	waitUsed("2", "s1", "s2")
}
