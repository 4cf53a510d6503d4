package pod_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/admission/pod"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

const key = "node-restriction.kubernetes.io/tenant"

type accounts map[string]*configv1alpha1.Account

func (a accounts) Get(_ context.Context, name string) (*configv1alpha1.Account, error) {
	if acc, ok := a[name]; ok {
		return acc, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Group: "config.kiosk.sh", Resource: "accounts"}, name)
}

type cluster struct{}

func (cluster) Node(name string) (*corev1.Node, error) { return nil, nil }
func (cluster) PriorityClass(name string) (*schedulingv1.PriorityClass, error) {
	if name != "batch" {
		return nil, nil
	}
	return &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: 100}, nil
}

// newWebhook serves Space "team-a" of Account "team", with isolation, and Space "plain" of
// Account "plain", without; "late" is a Space the access index has not seen yet.
func newWebhook(t *testing.T) *pod.Webhook {
	index := access.New(access.Options{})
	for ns, account := range map[string]string{"team-a": "team", "plain": "plain"} {
		index.UpsertSpace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, ResourceVersion: "1",
			Labels: map[string]string{configv1alpha1.AccountLabel: account}}})
	}
	index.MarkReady()
	isolated := &configv1alpha1.Account{ObjectMeta: metav1.ObjectMeta{Name: "team"}}
	isolated.Spec.Isolation = configv1alpha1.AccountIsolation{
		Nodes: &configv1alpha1.AccountNodeIsolation{NodeSelector: map[string]string{key: "team"},
			Tolerations: []corev1.Toleration{{Key: "tenant", Operator: corev1.TolerationOpEqual, Value: "team", Effect: corev1.TaintEffectNoSchedule}}},
		PriorityClasses:  &configv1alpha1.AccountPriorityClasses{Allowed: []string{"batch"}, Default: "batch"},
		AlwaysPullImages: true,
	}
	return &pod.Webhook{
		Spaces: index.Spaces(),
		Namespace: func(_ context.Context, name string) (*corev1.Namespace, error) {
			if name != "late" {
				return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, name)
			}
			return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{configv1alpha1.AccountLabel: "team"}}}, nil
		},
		Accounts: accounts{"team": isolated, "plain": {ObjectMeta: metav1.ObjectMeta{Name: "plain"}}},
		Cluster:  cluster{},
		Synced:   func() bool { return true },
		Exempt:   func(user string) bool { return user == "system:serviceaccount:tenancy-system:tenancy-apiserver" },
	}
}

func bare() *corev1.Pod {
	return &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx", ImagePullPolicy: corev1.PullIfNotPresent}}}}
}

func review(t *testing.T, namespace, user string, op admissionv1.Operation, sub string, obj, old runtime.Object) ([]byte, []byte) {
	t.Helper()
	raw, err := json.Marshal(obj)
	require.NoError(t, err)
	req := &admissionv1.AdmissionRequest{UID: "u", Namespace: namespace, Operation: op, SubResource: sub,
		Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
		Kind:     metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
		UserInfo: authenticationv1.UserInfo{Username: user},
		Object:   runtime.RawExtension{Raw: raw}}
	if old != nil {
		oldRaw, err := json.Marshal(old)
		require.NoError(t, err)
		req.OldObject = runtime.RawExtension{Raw: oldRaw}
	}
	body, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Request: req})
	require.NoError(t, err)
	return body, raw
}

func send(t *testing.T, h http.Handler, body []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, pod.Path, bytes.NewReader(body)))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	out := &admissionv1.AdmissionReview{}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), out))
	require.NotNil(t, out.Response)
	assert.Equal(t, "u", string(out.Response.UID))
	return out.Response
}

// apply applies a JSON Patch of "add" operations, as kube-apiserver would, to obj.
func apply(t *testing.T, obj, patch []byte) *corev1.Pod {
	t.Helper()
	var doc map[string]any
	require.NoError(t, json.Unmarshal(obj, &doc))
	var ops []struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value"`
	}
	require.NoError(t, json.Unmarshal(patch, &ops))
	for _, op := range ops {
		require.Equal(t, "add", op.Op)
		parts := strings.Split(strings.TrimPrefix(op.Path, "/"), "/")
		var at any = doc
		for _, p := range parts[:len(parts)-1] {
			switch v := at.(type) {
			case map[string]any:
				at = v[p]
			case []any:
				i, err := strconv.Atoi(p)
				require.NoError(t, err)
				at = v[i]
			}
		}
		m, ok := at.(map[string]any)
		require.True(t, ok, "path %s", op.Path)
		m[parts[len(parts)-1]] = op.Value
	}
	out, err := json.Marshal(doc)
	require.NoError(t, err)
	p := &corev1.Pod{}
	require.NoError(t, json.Unmarshal(out, p))
	return p
}

func TestCreateIsMutated(t *testing.T) {
	h := newWebhook(t)
	for _, ns := range []string{"team-a", "late"} {
		body, raw := review(t, ns, "dev", admissionv1.Create, "", bare(), nil)
		resp := send(t, h, body)
		require.True(t, resp.Allowed, "%v", resp.Result)
		require.NotNil(t, resp.PatchType)
		got := apply(t, raw, resp.Patch)
		assert.Equal(t, map[string]string{key: "team"}, got.Spec.NodeSelector, ns)
		assert.Equal(t, "tenant", got.Spec.Tolerations[0].Key, ns)
		assert.Equal(t, "batch", got.Spec.PriorityClassName, ns)
		assert.Equal(t, int32(100), *got.Spec.Priority, ns)
		assert.Equal(t, corev1.PreemptLowerPriority, *got.Spec.PreemptionPolicy, ns)
		assert.Equal(t, corev1.PullAlways, got.Spec.Containers[0].ImagePullPolicy, ns)
	}
}

func TestRefusalNamesTheField(t *testing.T) {
	p := bare()
	p.Spec.NodeSelector = map[string]string{key: "other"}
	p.Spec.PriorityClassName = "high"
	body, _ := review(t, "team-a", "dev", admissionv1.Create, "", p, nil)
	resp := send(t, newWebhook(t), body)
	require.False(t, resp.Allowed)
	assert.Equal(t, int32(http.StatusForbidden), resp.Result.Code)
	assert.Equal(t, metav1.StatusReasonForbidden, resp.Result.Reason)
	assert.Contains(t, resp.Result.Message, "spec.nodeSelector["+key+"]: Forbidden: is \"other\"")
	assert.Contains(t, resp.Result.Message, `spec.priorityClassName: Forbidden: PriorityClass "high" is not allowed for the Pods of account team`)
}

func TestLeftAlone(t *testing.T) {
	h := newWebhook(t)
	for _, tc := range []struct{ name, ns, user, sub string }{
		{"Account without isolation", "plain", "dev", ""},
		{"namespace of no Account", "elsewhere", "dev", ""},
		{"the server itself", "team-a", "system:serviceaccount:tenancy-system:tenancy-apiserver", ""},
		{"status", "team-a", "dev", "status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := bare()
			p.Spec.NodeSelector = map[string]string{key: "other"}
			body, _ := review(t, tc.ns, tc.user, admissionv1.Create, tc.sub, p, nil)
			resp := send(t, h, body)
			assert.True(t, resp.Allowed, "%v", resp.Result)
			assert.Empty(t, resp.Patch)
		})
	}
}

// Until its caches are synced the webhook waits a little, then refuses: no Pod is admitted
// unchecked after a start.
func TestNotSynced(t *testing.T) {
	h := newWebhook(t)
	var synced atomic.Bool
	h.Synced = synced.Load
	body, _ := review(t, "team-a", "dev", admissionv1.Create, "", bare(), nil)
	resp := send(t, h, body)
	require.False(t, resp.Allowed)
	assert.Equal(t, int32(http.StatusServiceUnavailable), resp.Result.Code)

	time.AfterFunc(100*time.Millisecond, func() { synced.Store(true) })
	resp = send(t, h, body)
	assert.True(t, resp.Allowed, "decided once the caches are synced: %v", resp.Result)
	assert.NotEmpty(t, resp.Patch)
}

func TestUpdates(t *testing.T) {
	h := newWebhook(t)
	old := bare()
	old.Spec.Containers[0].ImagePullPolicy = corev1.PullAlways
	gains := old.DeepCopy()
	gains.Spec.Tolerations = []corev1.Toleration{{Key: "tenant", Operator: corev1.TolerationOpEqual, Value: "other", Effect: corev1.TaintEffectNoSchedule}}
	body, _ := review(t, "team-a", "dev", admissionv1.Update, "", gains, old)
	resp := send(t, h, body)
	require.False(t, resp.Allowed)
	assert.Contains(t, resp.Result.Message, "spec.tolerations[0]: Forbidden")

	debug := old.DeepCopy()
	debug.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "debug", Image: "busybox", ImagePullPolicy: corev1.PullIfNotPresent}}}
	body, raw := review(t, "team-a", "dev", admissionv1.Update, "ephemeralcontainers", debug, old)
	resp = send(t, h, body)
	require.True(t, resp.Allowed, "%v", resp.Result)
	assert.Equal(t, corev1.PullAlways, apply(t, raw, resp.Patch).Spec.EphemeralContainers[0].ImagePullPolicy)
}
