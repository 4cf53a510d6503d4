package activity

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/sleep"
)

// recorded is a Recorder over fixed Spaces whose writes are collected.
type recorded struct {
	*Recorder
	mu     sync.Mutex
	writes []string
}

func newRecorded(t *testing.T, now time.Time, spaces map[string]map[string]string) *recorded {
	t.Helper()
	return newRecordedAt(t, func() time.Time { return now }, spaces)
}

// newRecordedAt is newRecorded on the clock now.
func newRecordedAt(t *testing.T, now func() time.Time, spaces map[string]map[string]string) *recorded {
	t.Helper()
	r := &recorded{}
	r.Recorder = &Recorder{
		Space: func(name string) (*corev1.Namespace, bool) {
			a, ok := spaces[name]
			return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Annotations: a}}, ok
		},
		Write: func(_ context.Context, name string, at time.Time) error {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.writes = append(r.writes, name+"@"+sleep.FormatUnix(at))
			return nil
		},
		Self: func(user string) bool { return user == "system:serviceaccount:tenancy-system:tenancy-apiserver" },
		Now:  now,
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go r.Run(ctx)
	return r
}

func (r *recorded) written() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.writes...)
}

func reviewOf(t *testing.T, namespace, user, operation, resource, subresource string) []byte {
	t.Helper()
	raw, err := json.Marshal(admissionv1.AdmissionReview{TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "uid-1", Namespace: namespace, Operation: admissionv1.Operation(operation),
			Resource: metav1.GroupVersionResource{Version: "v1", Resource: resource}, SubResource: subresource,
			UserInfo: authenticationv1.UserInfo{Username: user},
			Object:   runtime.RawExtension{Raw: []byte(`{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"x"}}`)}}})
	require.NoError(t, err)
	return raw
}

func post(t *testing.T, h http.Handler, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, Path, bytes.NewReader(body)))
	return w
}

func waitWrites(t *testing.T, r *recorded, want []string) {
	t.Helper()
	err := wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		return len(r.written()) >= len(want), nil
	})
	require.NoError(t, err, "waiting for %v, got %v", want, r.written())
	assert.Equal(t, want, r.written())
}

// The webhook allows every request, answering its UID, and records what counts in Spaces
// with sleep mode on, once per interval, at once in a sleeping Space.
func TestWebhookRecords(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	stale := sleep.FormatUnix(now.Add(-2 * Interval))
	fresh := sleep.FormatUnix(now.Add(-10 * time.Second))
	r := newRecorded(t, now, map[string]map[string]string{
		"idle":      {sleep.SleepAfter: "3600", sleep.LastActivity: stale},
		"busy":      {sleep.SleepAfter: "3600", sleep.LastActivity: fresh},
		"asleep":    {sleep.SleepAfter: "3600", sleep.LastActivity: stale, sleep.SleepingSince: fresh},
		"off":       {},
		"forced":    {sleep.Force: "true", sleep.LastActivity: fresh, sleep.SleepingSince: fresh},
		"scheduled": {sleep.SleepSchedule: "0 20 * * *"},
	})
	h := &Webhook{Recorder: r.Recorder}
	for _, tc := range []struct{ namespace, user, op, resource, sub string }{
		{"off", "alice", "CREATE", "configmaps", ""},                                             // sleep mode off
		{"idle", "system:serviceaccount:tenancy-system:tenancy-apiserver", "UPDATE", "pods", ""}, // this server
		{"idle", "system:kube-controller-manager", "CREATE", "pods", ""},                         // Kubernetes
		{"idle", "alice", "CREATE", "events", ""},                                                // an Event
		{"busy", "alice", "CREATE", "configmaps", ""},                                            // within the interval: later
		{"forced", "alice", "CREATE", "configmaps", ""},                                          // forced: within the interval
		{"nowhere", "alice", "CREATE", "configmaps", ""},                                         // not a Space
	} {
		w := post(t, h, reviewOf(t, tc.namespace, tc.user, tc.op, tc.resource, tc.sub))
		require.Equal(t, http.StatusOK, w.Code)
		out := admissionv1.AdmissionReview{}
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &out))
		assert.True(t, out.Response.Allowed)
		assert.EqualValues(t, "uid-1", out.Response.UID)
	}
	post(t, h, reviewOf(t, "idle", "alice", "CREATE", "configmaps", ""))
	post(t, h, reviewOf(t, "idle", "alice", "UPDATE", "configmaps", ""))
	post(t, h, reviewOf(t, "asleep", "bob", "CONNECT", "pods", "exec"))
	post(t, h, reviewOf(t, "scheduled", "carol", "DELETE", "pods", ""))
	waitWrites(t, r, []string{"idle@1800000000", "asleep@1800000000", "scheduled@1800000000"})

	assert.Equal(t, http.StatusBadRequest, post(t, h, []byte(`{"kind":"AdmissionReview"}`)).Code)
	assert.Equal(t, http.StatusBadRequest, post(t, h, []byte(`not json`)).Code)
}

// The audit sink counts reads of users in Spaces, the impersonated user being the one who
// reads; a Space's own namespace object counts for it.
func TestAuditSink(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	r := newRecorded(t, now, map[string]map[string]string{
		"a": {sleep.SleepAfter: "60"}, "b": {sleep.SleepAfter: "60"}, "c": {sleep.SleepAfter: "60"},
	})
	sink := &AuditSink{Recorder: r.Recorder}
	events := `{"kind":"EventList","apiVersion":"audit.k8s.io/v1","items":[
	 {"stage":"RequestReceived","verb":"get","user":{"username":"alice"},"objectRef":{"resource":"pods","namespace":"c"}},
	 {"stage":"ResponseComplete","verb":"list","user":{"username":"system:kube-scheduler"},"objectRef":{"resource":"pods","namespace":"c"}},
	 {"stage":"ResponseComplete","verb":"get","user":{"username":"admin"},"impersonatedUser":{"username":"system:node:n1","groups":["system:nodes"]},"objectRef":{"resource":"pods","namespace":"c"}},
	 {"stage":"ResponseComplete","verb":"get","user":{"username":"alice"},"objectRef":{"resource":"pods","namespace":"a","name":"x"}},
	 {"stage":"ResponseComplete","verb":"get","user":{"username":"alice"},"objectRef":{"resource":"namespaces","name":"b"}}
	]}`
	w := httptest.NewRecorder()
	sink.ServeHTTP(w, httptest.NewRequest(http.MethodPost, AuditPath, bytes.NewReader([]byte(events))))
	assert.Equal(t, http.StatusOK, w.Code)
	waitWrites(t, r, []string{"a@1800000000", "b@1800000000"})

	w = httptest.NewRecorder()
	sink.ServeHTTP(w, httptest.NewRequest(http.MethodPost, AuditPath, bytes.NewReader([]byte(`{"kind":"Pod"}`))))
	assert.Equal(t, http.StatusBadRequest, w.Code)
}

// What the recorder keeps of its writes goes once it no longer matters: Spaces that were
// written more than an Interval ago, deleted ones among them, leave its memory.
func TestRecorderForgetsOldWrites(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	spaces := map[string]map[string]string{}
	for i := range 50 {
		spaces[fmt.Sprintf("space-%d", i)] = map[string]string{sleep.SleepAfter: "3600"}
	}
	spaces["later"] = map[string]string{sleep.SleepAfter: "3600"}
	var clock atomic.Int64
	clock.Store(start.UnixNano())
	r := newRecordedAt(t, func() time.Time { return time.Unix(0, clock.Load()) }, spaces)
	var want []string
	for i := range 50 {
		name := fmt.Sprintf("space-%d", i)
		require.True(t, r.Observe(sleep.Request{User: "alice", Verb: "create", Resource: "configmaps"}, name, "test"))
		want = append(want, name+"@1800000000")
	}
	waitWrites(t, r, want)
	assert.Len(t, waitKept(t, r, 50), 50, "writes within the interval are kept")

	clock.Store(start.Add(2 * Interval).UnixNano())
	require.True(t, r.Observe(sleep.Request{User: "alice", Verb: "create", Resource: "configmaps"}, "later", "test"))
	waitWrites(t, r, append(want, "later@"+sleep.FormatUnix(start.Add(2*Interval))))
	assert.Equal(t, []string{"later"}, waitKept(t, r, 1), "only the recent write is kept")
}

// waitKept waits until the recorder keeps n writes, and returns their Spaces.
func waitKept(t *testing.T, r *recorded, n int) []string {
	t.Helper()
	var kept []string
	_ = wait.PollUntilContextTimeout(context.Background(), 5*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		r.Recorder.mu.Lock()
		defer r.Recorder.mu.Unlock()
		kept = keys(r.Recorder.written)
		return len(kept) == n, nil
	})
	return kept
}

func keys(m map[string]time.Time) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
