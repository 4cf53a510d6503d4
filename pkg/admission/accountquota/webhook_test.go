package accountquota_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/component-base/metrics/legacyregistry"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/admission/accountquota"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/quota"
	aqregistry "github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/config/accountquota"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/raw"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/registrytest"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/scheme"
)

// fixture is the webhook as each replica serves it, over one real etcd.
type fixture struct {
	replicas []*accountquota.Webhook
	store    *aqregistry.REST
}

// newFixture stores quotas in a fresh etcd and serves the webhook from n replicas, each
// with a Charger of its own. The Spaces "team-a", "team-b" and "team-c" belong to Account
// "team"; "outside" belongs to none.
func newFixture(tb testing.TB, opts generic.RESTOptions, n int, quotas ...*config.AccountQuota) *fixture {
	tb.Helper()
	return newFixtureWith(tb, opts, func() *clientv3.Client { return nil }, n, quotas...)
}

// newFixtureWith is newFixture with each replica's Charger reaching etcd through a client
// that client makes (nil: over the network).
func newFixtureWith(tb testing.TB, opts generic.RESTOptions, client func() *clientv3.Client, n int, quotas ...*config.AccountQuota) *fixture {
	tb.Helper()
	getter := registrytest.Getter{Options: opts}
	store, _, err := aqregistry.NewREST(scheme.Scheme, getter)
	require.NoError(tb, err)
	tb.Cleanup(store.Store.DestroyFunc)
	ctx := genericapirequest.WithNamespace(genericapirequest.NewContext(), metav1.NamespaceNone)
	informer := cache.NewSharedIndexInformer(&cache.ListWatch{}, &configv1alpha1.AccountQuota{}, 0, cache.Indexers{})
	require.NoError(tb, quota.IndexByAccount(informer))
	indexer := informer.GetIndexer()
	for _, q := range quotas {
		created, err := store.Create(ctx, q, rest.ValidateAllObjectFunc, &metav1.CreateOptions{})
		require.NoError(tb, err)
		v := &configv1alpha1.AccountQuota{}
		require.NoError(tb, scheme.Scheme.Convert(created, v, nil))
		require.NoError(tb, indexer.Add(v))
	}
	index := access.New(access.Options{})
	for _, name := range []string{"team-a", "team-b", "team-c"} {
		index.UpsertSpace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: "1",
			Labels: map[string]string{configv1alpha1.AccountLabel: "team"}}})
	}
	index.MarkReady()
	f := &fixture{store: store}
	for range n {
		charger, err := aqregistry.NewCharger(getter, quota.ChargeFieldManager, client())
		require.NoError(tb, err)
		tb.Cleanup(charger.Destroy)
		f.replicas = append(f.replicas, &accountquota.Webhook{
			Spaces: index.Spaces(), Quotas: indexer, Charger: charger})
	}
	return f
}

func (f *fixture) quota(tb testing.TB, name string) *config.AccountQuota {
	tb.Helper()
	obj, err := f.store.Get(genericapirequest.WithNamespace(genericapirequest.NewContext(), metav1.NamespaceNone), name, &metav1.GetOptions{})
	require.NoError(tb, err)
	return obj.(*config.AccountQuota)
}

func accountQuota(name string, hard ...string) *config.AccountQuota {
	return &config.AccountQuota{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: config.AccountQuotaSpec{Account: "team", Quota: corev1.ResourceQuotaSpec{Hard: list(hard...)}}}
}

func list(kv ...string) corev1.ResourceList {
	out := corev1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

func pod(name, cpu string) *corev1.Pod {
	c := corev1.Container{Name: "app", Image: "nginx"}
	if cpu != "" {
		c.Resources = corev1.ResourceRequirements{Requests: list("cpu", cpu), Limits: list("cpu", cpu)}
	}
	return &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{Containers: []corev1.Container{c}}}
}

// review is the AdmissionReview kube-apiserver sends for creating obj in namespace.
func review(tb testing.TB, namespace string, obj runtime.Object, dryRun bool) []byte {
	tb.Helper()
	raw, err := json.Marshal(obj)
	require.NoError(tb, err)
	return reviewOf(tb, namespace, raw, dryRun)
}

func reviewOf(tb testing.TB, namespace string, raw []byte, dryRun bool) []byte {
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID: types.UID(fmt.Sprintf("uid-%d", len(raw))), Namespace: namespace, Operation: admissionv1.Create, DryRun: &dryRun,
			Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Kind:     metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Object:   runtime.RawExtension{Raw: raw},
		}})
	require.NoError(tb, err)
	return body
}

// send posts an AdmissionReview to the webhook and returns its answer.
func send(tb testing.TB, h http.Handler, body []byte) (*admissionv1.AdmissionResponse, int) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, accountquota.Path, bytes.NewReader(body)))
	if rec.Code != http.StatusOK {
		return nil, rec.Code
	}
	out := &admissionv1.AdmissionReview{}
	if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil || out.Response == nil {
		tb.Errorf("answer is not an AdmissionReview: %v: %s", err, rec.Body.String())
		return nil, rec.Code
	}
	return out.Response, rec.Code
}

func TestConcurrentCreatesThroughTwoReplicasNeverExceedTheQuota(t *testing.T) {
	// One replica reaches etcd inside the process, as the server's embedded etcd is
	// reached, the other over the network.
	etcd := registrytest.StartEtcd(t, false)
	replica := 0
	client := func() *clientv3.Client {
		if replica++; replica == 1 {
			return etcd.Client()
		}
		return nil
	}
	f := newFixtureWith(t, etcd.Options("accountquotas"), client, 2, accountQuota("pods", "pods", "10"))
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		allowed int
		denials []string
	)
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ns := []string{"team-a", "team-b", "team-c"}[i%3]
			resp, code := send(t, f.replicas[i%2], review(t, ns, pod(fmt.Sprintf("p%d", i), ""), false))
			if !assert.Equal(t, http.StatusOK, code) {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if resp.Allowed {
				allowed++
			} else {
				denials = append(denials, resp.Result.Message)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 10, allowed)
	require.Len(t, denials, 50)
	assert.Equal(t, "exceeded quota: pods, requested: pods=1, used: pods=10, limited: pods=10", denials[0])
	used := f.quota(t, "pods").Status.Total.Used
	assert.Equal(t, int64(10), used.Pods().Value(), "status.total.used: %v", used)
}

func TestARefusalByOneQuotaLeavesNoChargeOnAnother(t *testing.T) {
	f := newFixture(t, registrytest.RESTOptions(t, "accountquotas"), 1,
		accountQuota("a-pods", "pods", "100"), accountQuota("b-cpu", "limits.cpu", "1"))
	h := f.replicas[0]
	resp, _ := send(t, h, review(t, "team-a", pod("first", "600m"), false))
	require.True(t, resp.Allowed, "%v", resp.Result)
	resp, _ = send(t, h, review(t, "team-a", pod("second", "600m"), false))
	require.False(t, resp.Allowed)
	assert.Equal(t, int32(http.StatusForbidden), resp.Result.Code)
	assert.Equal(t, "exceeded quota: b-cpu, requested: limits.cpu=600m, used: limits.cpu=600m, limited: limits.cpu=1", resp.Result.Message)
	pods := f.quota(t, "a-pods").Status.Total.Used
	assert.Equal(t, int64(1), pods.Pods().Value(), "a-pods charged a refused pod: %v", pods)
	cpu := f.quota(t, "b-cpu").Status.Total.Used[corev1.ResourceLimitsCPU]
	assert.Equal(t, "600m", cpu.String())

	// must-specify: the pod without limits is refused before anything is charged.
	resp, _ = send(t, h, review(t, "team-b", pod("bare", ""), false))
	require.False(t, resp.Allowed)
	assert.Equal(t, "failed quota: b-cpu: must specify limits.cpu for: app", resp.Result.Message)
	pods = f.quota(t, "a-pods").Status.Total.Used
	assert.Equal(t, int64(1), pods.Pods().Value())
}

func TestDryRunIsCheckedButNotCharged(t *testing.T) {
	f := newFixture(t, registrytest.RESTOptions(t, "accountquotas"), 1, accountQuota("pods", "pods", "1"))
	h := f.replicas[0]
	for i := range 3 {
		resp, _ := send(t, h, review(t, "team-a", pod(fmt.Sprintf("dry%d", i), ""), true))
		require.True(t, resp.Allowed)
	}
	used := f.quota(t, "pods").Status.Total.Used
	assert.True(t, used.Pods().IsZero(), "dry runs charged: %v", used)
	resp, _ := send(t, h, review(t, "team-a", pod("real", ""), false))
	require.True(t, resp.Allowed)
	resp, _ = send(t, h, review(t, "team-a", pod("dry-over", ""), true))
	assert.False(t, resp.Allowed, "a dry run over the quota is refused as the real create would be")
}

func TestRequestsOutsideAccountsAndBadInput(t *testing.T) {
	f := newFixture(t, registrytest.RESTOptions(t, "accountquotas"), 1, accountQuota("pods", "pods", "0"))
	h := f.replicas[0]
	resp, _ := send(t, h, review(t, "outside", pod("free", ""), false))
	assert.True(t, resp.Allowed, "a namespace of no Account is not the webhook's business")
	resp, _ = send(t, h, review(t, "team-a", pod("held", ""), false))
	assert.False(t, resp.Allowed)

	_, code := send(t, h, []byte("{not json"))
	assert.Equal(t, http.StatusBadRequest, code)
	broken := reviewOf(t, "team-a", []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},"spec":{"containers":"none"}}`), false)
	resp, _ = send(t, h, broken)
	require.NotNil(t, resp)
	assert.False(t, resp.Allowed)
	assert.Equal(t, int32(http.StatusBadRequest), resp.Result.Code)
	assert.Contains(t, resp.Result.Message, "reading the object")
}

func TestChargeOutlivesTheReplicaThatMadeIt(t *testing.T) {
	opts := registrytest.RESTOptions(t, "accountquotas")
	f := newFixture(t, opts, 1, accountQuota("pods", "pods", "3"))
	for i := range 2 {
		resp, _ := send(t, f.replicas[0], review(t, "team-a", pod(fmt.Sprintf("p%d", i), ""), false))
		require.True(t, resp.Allowed)
	}
	// A new replica starts with no memory of the charges: it reads them from storage.
	charger, err := aqregistry.NewCharger(registrytest.Getter{Options: opts}, quota.ChargeFieldManager, nil)
	require.NoError(t, err)
	t.Cleanup(charger.Destroy)
	fresh := &accountquota.Webhook{Spaces: f.replicas[0].Spaces, Quotas: f.replicas[0].Quotas, Charger: charger}
	resp, _ := send(t, fresh, review(t, "team-b", pod("third", ""), false))
	require.True(t, resp.Allowed)
	resp, _ = send(t, fresh, review(t, "team-b", pod("fourth", ""), false))
	assert.False(t, resp.Allowed)
	resp, _ = send(t, f.replicas[0], review(t, "team-c", pod("fifth", ""), false))
	assert.False(t, resp.Allowed, "the first replica's stale view must not admit")
	assert.True(t, quota.ChargedRecently(v1(t, f.quota(t, "pods")), 10e9, f.quota(t, "pods").ManagedFields[0].Time.Time))
}

func v1(t *testing.T, q *config.AccountQuota) *configv1alpha1.AccountQuota {
	out := &configv1alpha1.AccountQuota{}
	require.NoError(t, scheme.Scheme.Convert(q, out, context.Background()))
	return out
}

// setUsed writes the usage of quota name with a Charger of its own, as the quota controller
// or another replica would.
func setUsed(t *testing.T, opts generic.RESTOptions, name string, used corev1.ResourceList) {
	t.Helper()
	writer, err := aqregistry.NewCharger(registrytest.Getter{Options: opts}, "recount", nil)
	require.NoError(t, err)
	defer writer.Destroy()
	ctx := context.Background()
	prev, err := writer.Current(ctx, name, true)
	require.NoError(t, err)
	q := aqregistry.Quota(prev).DeepCopy()
	q.Status.Total.Used = used
	next, err := writer.Next(ctx, name, q)
	require.NoError(t, err)
	stored, err := writer.Commit(ctx, raw.Swap{Name: name, Prev: prev, Next: next})
	require.NoError(t, err)
	require.True(t, stored)
}

func TestARefusalRestsOnTheStoredVersion(t *testing.T) {
	opts := registrytest.RESTOptions(t, "accountquotas")
	f := newFixture(t, opts, 1, accountQuota("pods", "pods", "1"))
	h := f.replicas[0]
	resp, _ := send(t, h, review(t, "team-a", pod("first", ""), false))
	require.True(t, resp.Allowed)
	resp, _ = send(t, h, review(t, "team-a", pod("second", ""), false))
	require.False(t, resp.Allowed)
	// The first Pod is deleted and a recount lowers the usage behind the replica's back: the
	// replica's remembered version is full, the stored one is not.
	setUsed(t, opts, "pods", list("pods", "0"))
	resp, _ = send(t, h, review(t, "team-a", pod("third", ""), false))
	assert.True(t, resp.Allowed, "refused on a version that is no longer stored: %v", resp.Result)
	assert.Equal(t, int64(1), f.quota(t, "pods").Status.Total.Used.Pods().Value())
}

func TestAChargeDecidedOnAStaleVersionIsDecidedAgain(t *testing.T) {
	opts := registrytest.RESTOptions(t, "accountquotas")
	f := newFixture(t, opts, 1, accountQuota("pods", "pods", "2"), accountQuota("cpu", "limits.cpu", "10"))
	h := f.replicas[0]
	resp, _ := send(t, h, review(t, "team-a", pod("first", "1"), false))
	require.True(t, resp.Allowed)
	// Another replica charges a Pod the first one does not know of.
	setUsed(t, opts, "pods", list("pods", "2"))
	resp, _ = send(t, h, review(t, "team-a", pod("second", "1"), false))
	require.False(t, resp.Allowed, "admitted over the stored usage")
	assert.Equal(t, "exceeded quota: pods, requested: pods=1, used: pods=2, limited: pods=2", resp.Result.Message)
	// Nothing of the refused Pod is left on the other quota.
	cpu := f.quota(t, "cpu").Status.Total.Used[corev1.ResourceLimitsCPU]
	assert.Equal(t, "1", cpu.String())
}

func TestOnlyTheAccountsOwnQuotasApply(t *testing.T) {
	other := accountQuota("other-pods", "pods", "0")
	other.Spec.Account = "other"
	f := newFixture(t, registrytest.RESTOptions(t, "accountquotas"), 1, other, accountQuota("pods", "pods", "1"))
	resp, _ := send(t, f.replicas[0], review(t, "team-a", pod("mine", ""), false))
	assert.True(t, resp.Allowed, "another Account's quota applied: %v", resp.Result)
	assert.True(t, f.quota(t, "other-pods").Status.Total.Used.Pods().IsZero())
	assert.Equal(t, int64(1), f.quota(t, "pods").Status.Total.Used.Pods().Value())
}

func TestChargesAreMeasured(t *testing.T) {
	names := []string{"tenancy_accountquota_admission_duration_seconds",
		"tenancy_accountquota_batch_requests", "tenancy_accountquota_transaction_duration_seconds"}
	// The histograms are process-wide and earlier tests of the package fill them: only what
	// this test adds counts.
	before := histogramCounts(t)
	f := newFixture(t, registrytest.RESTOptions(t, "accountquotas"), 1, accountQuota("pods", "pods", "1"))
	for i := range 2 {
		send(t, f.replicas[0], review(t, "team-a", pod(fmt.Sprintf("p%d", i), ""), false))
	}
	after := histogramCounts(t)
	for _, name := range names {
		assert.GreaterOrEqual(t, after[name]-before[name], uint64(2), name)
	}
}

// histogramCounts is the number of samples of every histogram of the default registry, by name.
func histogramCounts(t *testing.T) map[string]uint64 {
	t.Helper()
	families, err := legacyregistry.DefaultGatherer.Gather()
	require.NoError(t, err)
	counts := map[string]uint64{}
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); h != nil {
				counts[mf.GetName()] += h.GetSampleCount()
			}
		}
	}
	return counts
}

// Until the access index has loaded the namespaces that existed at start, the webhook cannot
// tell a Space from another namespace: it refuses with 503 rather than admit uncharged, and
// charges once the index is ready.
func TestRefusesUntilTheSpacesAreLoaded(t *testing.T) {
	f := newFixture(t, registrytest.RESTOptions(t, "accountquotas"), 1, accountQuota("pods", "pods", "1"))
	index := access.New(access.Options{Load: true})
	index.UpsertSpace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", ResourceVersion: "1",
		Labels: map[string]string{configv1alpha1.AccountLabel: "team"}}})
	h := &accountquota.Webhook{Spaces: index.Spaces(), Ready: index.Ready, Quotas: f.replicas[0].Quotas, Charger: f.replicas[0].Charger}

	resp, _ := send(t, h, review(t, "team-a", pod("early", ""), false))
	require.NotNil(t, resp)
	require.False(t, resp.Allowed, "admitted before the Spaces were loaded")
	require.EqualValues(t, http.StatusServiceUnavailable, resp.Result.Code)
	assert.True(t, f.quota(t, "pods").Status.Total.Used.Pods().IsZero(), "a refused request was charged")

	index.MarkReady()
	resp, _ = send(t, h, review(t, "team-a", pod("first", ""), false))
	require.True(t, resp.Allowed)
	resp, _ = send(t, h, review(t, "team-a", pod("second", ""), false))
	require.False(t, resp.Allowed, "the quota of 1 Pod was not charged for the first")
	resp, _ = send(t, h, review(t, "outside", pod("elsewhere", ""), false))
	require.True(t, resp.Allowed, "a namespace outside every Account is not charged")
}
