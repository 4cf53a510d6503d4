// Package accountquota is the validating webhook that holds every Account to its
// AccountQuotas: kube-apiserver sends it creates and updates in the Account's namespaces,
// and it charges each request to the quotas that cover it with a compare-and-swap on their
// status, so that no number of concurrent requests through any number of replicas exceeds
// a quota.
package accountquota

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/klog/v2"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
	configlisters "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/listers/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/quota"
)

// Path is where the webhook is served.
const Path = "/admission/accountquota"

// FieldManager names the webhook's charges in the quotas' managed fields. The quota
// controller reads its timestamps to leave fresh charges alone.
const FieldManager = "tenancy-apiserver-admission"

const maxBody = 8 << 20

// Webhook charges requests to AccountQuotas.
type Webhook struct {
	batches batcher

	// Spaces tells which Account a namespace belongs to.
	Spaces *access.View[*corev1.Namespace]
	// Quotas finds the quotas of an Account; their usage is read fresh from storage.
	Quotas configlisters.AccountQuotaLister
	// Config reads and writes AccountQuotas in this server's storage.
	Config versioned.Interface
}

// ServeHTTP answers one AdmissionReview.
func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	review := &admissionv1.AdmissionReview{}
	if err := json.Unmarshal(body, review); err != nil || review.Request == nil {
		http.Error(w, fmt.Sprintf("not an AdmissionReview: %v", err), http.StatusBadRequest)
		return
	}
	RegisterMetrics()
	start := time.Now()
	resp := h.admit(r.Context(), review.Request)
	result := "allowed"
	switch {
	case !resp.Allowed && resp.Result != nil && resp.Result.Code == http.StatusForbidden:
		result = "denied"
	case !resp.Allowed:
		result = "error"
	}
	admissionDuration.WithLabelValues(result).Observe(time.Since(start).Seconds())
	resp.UID = review.Request.UID
	out := admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func allow() *admissionv1.AdmissionResponse { return &admissionv1.AdmissionResponse{Allowed: true} }

func deny(code int32, reason metav1.StatusReason, msg string) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Allowed: false, Result: &metav1.Status{
		Status: metav1.StatusFailure, Code: code, Reason: reason, Message: msg}}
}

func (h *Webhook) admit(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	if req.SubResource != "" || req.Namespace == "" ||
		(req.Operation != admissionv1.Create && req.Operation != admissionv1.Update) {
		return allow()
	}
	ns, ok := h.Spaces.Snapshot().Get(req.Namespace)
	if !ok {
		return allow()
	}
	account := ns.Labels[configv1alpha1.AccountLabel]
	names, err := h.quotaNames(account)
	if err != nil || len(names) == 0 {
		return allow()
	}
	gr := schema.GroupResource{Group: req.Resource.Group, Resource: req.Resource.Resource}
	obj, old, err := objects(req)
	if err != nil {
		return deny(http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error())
	}
	dryRun := req.DryRun != nil && *req.DryRun
	err = h.submit(ctx, account, &pending{gr: gr, obj: obj, old: old, dryRun: dryRun})
	var qerr *quota.Error
	switch {
	case errors.As(err, &qerr):
		return deny(http.StatusForbidden, metav1.StatusReasonForbidden, qerr.Message)
	case err != nil:
		klog.FromContext(ctx).Error(err, "Charging an AccountQuota", "account", account, "namespace", req.Namespace)
		return deny(http.StatusInternalServerError, metav1.StatusReasonInternalError, fmt.Sprintf("account quota of %s: %v", account, err))
	}
	return allow()
}

func (h *Webhook) quotaNames(account string) ([]string, error) {
	all, err := h.Quotas.List(everything)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, q := range all {
		if q.Spec.Account == account {
			names = append(names, q.Name)
		}
	}
	return names, nil
}

func objects(req *admissionv1.AdmissionRequest) (*unstructured.Unstructured, *unstructured.Unstructured, error) {
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(req.Object.Raw); err != nil {
		return nil, nil, fmt.Errorf("reading the object: %w", err)
	}
	if req.Operation != admissionv1.Update || len(req.OldObject.Raw) == 0 {
		return obj, nil, nil
	}
	old := &unstructured.Unstructured{}
	if err := old.UnmarshalJSON(req.OldObject.Raw); err != nil {
		return nil, nil, fmt.Errorf("reading the old object: %w", err)
	}
	return obj, old, nil
}

// pending is one request waiting to be charged.
type pending struct {
	gr       schema.GroupResource
	obj, old *unstructured.Unstructured
	dryRun   bool
	done     chan error
}

// batcher charges the requests of each Account in batches: one read and one
// compare-and-swap write per quota for all the requests waiting, as kube-apiserver's own
// quota admission does. Requests of one Account never race each other on this replica;
// replicas race through the compare-and-swap.
type batcher struct {
	mu      sync.Mutex
	waiting map[string][]*pending
	running map[string]bool
}

func (h *Webhook) submit(ctx context.Context, account string, p *pending) error {
	p.done = make(chan error, 1)
	h.batches.mu.Lock()
	if h.batches.waiting == nil {
		h.batches.waiting, h.batches.running = map[string][]*pending{}, map[string]bool{}
	}
	h.batches.waiting[account] = append(h.batches.waiting[account], p)
	if !h.batches.running[account] {
		h.batches.running[account] = true
		go h.drain(account)
	}
	h.batches.mu.Unlock()
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Webhook) drain(account string) {
	for {
		h.batches.mu.Lock()
		batch := h.batches.waiting[account]
		delete(h.batches.waiting, account)
		if len(batch) == 0 {
			delete(h.batches.running, account)
			h.batches.mu.Unlock()
			return
		}
		h.batches.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		results, err := h.chargeBatch(ctx, account, batch)
		cancel()
		for i, p := range batch {
			if err != nil {
				p.done <- err
			} else {
				p.done <- results[i]
			}
		}
	}
}

// chargeBatch charges a batch, retrying from fresh reads when another replica's charge
// wins the compare-and-swap.
func (h *Webhook) chargeBatch(ctx context.Context, account string, batch []*pending) ([]error, error) {
	names, err := h.quotaNames(account)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		results, err := h.chargeOnce(ctx, names, batch)
		if !apierrors.IsConflict(err) || attempt == 50 {
			return results, err
		}
		conflicts.Inc()
	}
}

// chargeOnce reads the quotas, charges the batch's requests one after the other against
// them, and writes each changed quota back with the resourceVersion it read.
func (h *Webhook) chargeOnce(ctx context.Context, names []string, batch []*pending) ([]error, error) {
	client := h.Config.ConfigV1alpha1().AccountQuotas()
	current := make([]*configv1alpha1.AccountQuota, 0, len(names))
	quotas := make([]quota.Quota, 0, len(names))
	for _, name := range names {
		q, err := client.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		current = append(current, q)
		quotas = append(quotas, quota.Quota{Name: q.Name, Spec: q.Spec.Quota, Used: q.Status.Total.Used})
	}
	results := make([]error, len(batch))
	changed := make([]bool, len(quotas))
	for i, p := range batch {
		used, err := quota.Admit(quotas, p.gr, p.obj, p.old)
		if err != nil {
			results[i] = err
			continue
		}
		if p.dryRun {
			continue
		}
		for j := range quotas {
			if used[j] != nil {
				quotas[j].Used = used[j]
				changed[j] = true
			}
		}
	}
	for j, q := range current {
		if !changed[j] {
			continue
		}
		q = q.DeepCopy()
		q.Status.Total.Hard = q.Spec.Quota.Hard
		q.Status.Total.Used = quotas[j].Used
		if _, err := client.UpdateStatus(ctx, q, metav1.UpdateOptions{FieldManager: FieldManager}); err != nil {
			return nil, err
		}
	}
	return results, nil
}

// ChargedRecently reports whether the webhook charged q within window: usage counted from
// the objects may not include what it admitted then.
func ChargedRecently(q *configv1alpha1.AccountQuota, window time.Duration, now time.Time) bool {
	for _, m := range q.ManagedFields {
		if m.Manager == FieldManager && m.Time != nil && now.Sub(m.Time.Time) < window {
			return true
		}
	}
	return false
}
