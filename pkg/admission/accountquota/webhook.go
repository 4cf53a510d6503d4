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
	"sort"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/klog/v2"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
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
	// Charger writes the quotas' usage.
	Charger Charger
}

// Charger changes the status of an AccountQuota with a compare-and-swap, calling change
// again on the current object whenever another writer got there first.
type Charger interface {
	Update(ctx context.Context, name string, change func(*config.AccountQuota) (bool, error)) (*config.AccountQuota, error)
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
	quotas, err := h.quotasOf(account)
	if err != nil || len(quotas) == 0 {
		return allow()
	}
	gr := schema.GroupResource{Group: req.Resource.Group, Resource: req.Resource.Resource}
	charge, err := chargeOf(gr, req)
	if err != nil {
		return deny(http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error())
	}
	// What the request asks of each quota is worked out here, in parallel with the other
	// requests; the batch only adds and compares.
	p := &pending{charge: charge, dryRun: req.DryRun != nil && *req.DryRun, demands: make(map[string]demand, len(quotas))}
	for _, q := range quotas {
		p.demands[q.Name] = demand{generation: q.Generation, Demand: charge.DemandOf(q.Name, q.Spec.Quota)}
	}
	err = h.submit(ctx, account, p)
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

// quotasOf returns the quotas of account, by name.
func (h *Webhook) quotasOf(account string) ([]*configv1alpha1.AccountQuota, error) {
	all, err := h.Quotas.List(everything)
	if err != nil {
		return nil, err
	}
	var out []*configv1alpha1.AccountQuota
	for _, q := range all {
		if q.Spec.Account == account {
			out = append(out, q)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// chargeOf decodes the request's objects, once, in the caller's goroutine: the batches
// only add and compare.
func chargeOf(gr schema.GroupResource, req *admissionv1.AdmissionRequest) (*quota.Charge, error) {
	obj, err := quota.Decode(gr, req.Object.Raw)
	if err != nil {
		return nil, fmt.Errorf("reading the object: %w", err)
	}
	if req.Operation != admissionv1.Update || len(req.OldObject.Raw) == 0 {
		return quota.NewCharge(obj, nil), nil
	}
	old, err := quota.Decode(gr, req.OldObject.Raw)
	if err != nil {
		return nil, fmt.Errorf("reading the old object: %w", err)
	}
	return quota.NewCharge(obj, old), nil
}

// pending is one request waiting to be charged.
type pending struct {
	charge *quota.Charge
	dryRun bool
	// demands are what the request asks of each quota, by name, for the quota's spec at
	// the generation they were worked out for.
	demands map[string]demand
	done    chan error
}

type demand struct {
	generation int64
	quota.Demand
}

// batcher charges the requests of each Account in batches: one compare-and-swap write per
// quota for all the requests waiting, as kube-apiserver's own quota admission does.
// Requests of one Account never race each other on this replica; replicas race through the
// compare-and-swap.
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

// chargeBatch charges a batch to the Account's quotas: one compare-and-swap write per
// quota, the quotas written at once. Each quota decides every request of the batch on its
// own current usage; a request that any quota refuses is given back to the quotas that took
// it, so that a refusal leaves no charge behind.
func (h *Webhook) chargeBatch(ctx context.Context, account string, batch []*pending) ([]error, error) {
	quotas, err := h.quotasOf(account)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(quotas))
	for j, q := range quotas {
		names[j] = q.Name
	}
	// taken[j][i] is what quota names[j] took for request i; refused[j][i] why it refused it.
	taken := make([][]corev1.ResourceList, len(names))
	refused := make([][]error, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for j := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			taken[j], refused[j], errs[j] = h.chargeQuota(ctx, names[j], batch)
		}()
	}
	wg.Wait()
	results := make([]error, len(batch))
	for j := range names {
		for i, e := range refused[j] {
			if e != nil && results[i] == nil {
				results[i] = e
			}
		}
	}
	for _, err := range errs {
		if err != nil {
			// Nothing of this batch is admitted: give back everything taken.
			h.giveBack(ctx, names, taken, func(int) bool { return true })
			return nil, err
		}
	}
	h.giveBack(ctx, names, taken, func(i int) bool { return results[i] != nil })
	return results, nil
}

// chargeQuota charges the requests of a batch that fit to quota name, and says what it took
// for each request and why it refused the others. A quota that no longer exists takes and
// refuses nothing.
func (h *Webhook) chargeQuota(ctx context.Context, name string, batch []*pending) ([]corev1.ResourceList, []error, error) {
	var (
		taken   []corev1.ResourceList
		refused []error
		calls   int
	)
	_, err := h.Charger.Update(ctx, name, func(q *config.AccountQuota) (bool, error) {
		if calls++; calls > 1 {
			conflicts.Inc()
		}
		taken, refused = make([]corev1.ResourceList, len(batch)), make([]error, len(batch))
		hard := q.Spec.Quota.Hard
		used := quota.Total(hard, q.Status.Total.Used)
		changed := false
		for i, p := range batch {
			d, ok := p.demands[q.Name]
			if !ok || d.generation != q.Generation {
				// The quota is new to the request, or its spec changed since.
				d = demand{generation: q.Generation, Demand: p.charge.DemandOf(q.Name, q.Spec.Quota)}
			}
			if d.Err == nil && len(d.Requested) == 0 {
				continue
			}
			if err := d.Fit(q.Name, hard, used, p.dryRun); err != nil {
				refused[i] = err
				continue
			}
			if !p.dryRun {
				taken[i], changed = d.Requested, true
			}
		}
		if !changed {
			return false, nil
		}
		q.Status.Total.Hard, q.Status.Total.Used = hard, used
		return true, nil
	})
	if apierrors.IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	return taken, refused, nil
}

// giveBack returns to each quota what it took for the requests that are refused after all.
func (h *Webhook) giveBack(ctx context.Context, names []string, taken [][]corev1.ResourceList, refused func(int) bool) {
	for j, name := range names {
		back := corev1.ResourceList{}
		for i, t := range taken[j] {
			if t != nil && refused(i) {
				back = quotav1.Add(back, t)
			}
		}
		if len(back) == 0 {
			continue
		}
		_, err := h.Charger.Update(ctx, name, func(q *config.AccountQuota) (bool, error) {
			used := quotav1.Subtract(q.Status.Total.Used, back)
			for r, v := range used {
				if v.Sign() < 0 {
					used[r] = *resource.NewQuantity(0, v.Format)
				}
			}
			q.Status.Total.Used = used
			return true, nil
		})
		if err != nil && !apierrors.IsNotFound(err) {
			// The quota controller's next recount corrects it.
			klog.ErrorS(err, "Giving back an AccountQuota charge", "accountQuota", name)
		}
		givebacks.Inc()
	}
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
