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
	"slices"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/admission/webhook"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/quota"
	aqregistry "github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/config/accountquota"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/raw"
)

// Path is where the webhook is served.
const Path = "/admission/accountquota"

const maxBody = 8 << 20

// Webhook charges requests to AccountQuotas.
type Webhook struct {
	batches batcher

	// Spaces tells which Account a namespace belongs to.
	Spaces *access.View[*corev1.Namespace]
	// Ready, when set, reports whether Spaces holds every namespace that existed at start
	// (the access index is ready). Until then the webhook cannot tell a Space from another
	// namespace: it waits a little, then refuses with 503, which kube-apiserver turns into
	// a refusal (failurePolicy Fail) rather than an uncharged admission.
	Ready func() bool
	// Quotas finds the quotas of an Account: the AccountQuota informer's indexer, with the
	// quota.ByAccount index. Their usage is read from storage.
	Quotas cache.Indexer
	// Charger writes the quotas' usage.
	Charger Charger
}

// Charger writes the status of AccountQuotas with compare-and-swap writes.
type Charger interface {
	// Current is the latest version of quota name known, read when fresh is set; nil when
	// the quota does not exist.
	Current(ctx context.Context, name string, fresh bool) (*raw.Stored, error)
	// Next makes q, a changed copy of a version of quota name, the version to write.
	Next(ctx context.Context, name string, q *config.AccountQuota) (*raw.Stored, error)
	// Commit stores every Next in place of its Prev at once, if every Prev is still
	// stored, and reports whether it did.
	Commit(ctx context.Context, swaps ...raw.Swap) (bool, error)
}

// ServeHTTP answers one AdmissionReview.
func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	review := &admissionReview{}
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

// readBody reads a request's body of at most maxBody bytes, in one buffer when its length
// is known.
func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > 0 && r.ContentLength <= maxBody {
		body := make([]byte, r.ContentLength)
		if _, err := io.ReadFull(r.Body, body); err != nil {
			return nil, err
		}
		return body, nil
	}
	return io.ReadAll(io.LimitReader(r.Body, maxBody))
}

func allow() *admissionv1.AdmissionResponse { return &admissionv1.AdmissionResponse{Allowed: true} }

func deny(code int32, reason metav1.StatusReason, msg string) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Allowed: false, Result: &metav1.Status{
		Status: metav1.StatusFailure, Code: code, Reason: reason, Message: msg}}
}

// admissionReview is the part of an AdmissionReview the webhook reads. The objects stay
// JSON until quota.Decode reads what quota needs of them, and the rest of the request
// (the user, the options) is skipped without being decoded.
type admissionReview struct {
	metav1.TypeMeta `json:",inline"`
	Request         *admissionRequest `json:"request"`
}

type admissionRequest struct {
	UID         types.UID                   `json:"uid"`
	Resource    metav1.GroupVersionResource `json:"resource"`
	SubResource string                      `json:"subResource"`
	Namespace   string                      `json:"namespace"`
	Operation   admissionv1.Operation       `json:"operation"`
	Object      json.RawMessage             `json:"object"`
	OldObject   json.RawMessage             `json:"oldObject"`
	DryRun      *bool                       `json:"dryRun"`
}

func (h *Webhook) admit(ctx context.Context, req *admissionRequest) *admissionv1.AdmissionResponse {
	// pods/resize changes a Pod's resources and is charged as an update of the Pod. Other
	// subresources change no usage: ephemeral containers carry no resources in Kubernetes,
	// so pods/ephemeralcontainers is not charged either.
	resize := req.SubResource == "resize" && req.Resource.Group == "" && req.Resource.Resource == "pods" &&
		req.Operation == admissionv1.Update
	if (req.SubResource != "" && !resize) || req.Namespace == "" ||
		(req.Operation != admissionv1.Create && req.Operation != admissionv1.Update) {
		return allow()
	}
	if !webhook.WaitReady(ctx, h.Ready) {
		return deny(http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable,
			"the AccountQuota webhook has not read the cluster's Spaces yet")
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
	return quota.QuotasOf(h.Quotas, account)
}

// chargeOf decodes the request's objects, once, in the caller's goroutine: the batches
// only add and compare.
func chargeOf(gr schema.GroupResource, req *admissionRequest) (*quota.Charge, error) {
	obj, err := quota.Decode(gr, req.Object)
	if err != nil {
		return nil, fmt.Errorf("reading the object: %w", err)
	}
	if req.Operation != admissionv1.Update || isNull(req.OldObject) {
		return quota.NewCharge(obj, nil), nil
	}
	old, err := quota.Decode(gr, req.OldObject)
	if err != nil {
		return nil, fmt.Errorf("reading the old object: %w", err)
	}
	return quota.NewCharge(obj, old), nil
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// pending is one request waiting to be charged.
type pending struct {
	ctx    context.Context
	charge *quota.Charge
	dryRun bool
	// demands are what the request asks of each quota, by name, for the quota's spec at
	// the generation they were worked out for.
	demands map[string]demand
	done    chan error
	// submitted is when the request joined the batches; retries end retryBudget after it.
	submitted time.Time
}

type demand struct {
	generation int64
	quota.Demand
}

// demandOf is what p asks of quota q.
func (p *pending) demandOf(q *config.AccountQuota) quota.Demand {
	d, ok := p.demands[q.Name]
	if !ok || d.generation != q.Generation {
		// The quota is new to the request, or its spec changed since.
		return p.charge.DemandOf(q.Name, q.Spec.Quota)
	}
	return d.Demand
}

// batcher charges the requests of each Account in batches, as kube-apiserver's own quota
// admission does: one etcd transaction for all the requests waiting, which compares and
// replaces at once every quota of the Account that the batch was decided on. Requests of
// one Account never race each other on this replica; replicas, the quota controller and
// administrators race through the compare-and-swap, and a batch that lost is decided again
// on the current versions.
type batcher struct {
	mu      sync.Mutex
	waiting map[string][]*pending
	running map[string]bool
}

func (h *Webhook) submit(ctx context.Context, account string, p *pending) error {
	p.ctx, p.done, p.submitted = ctx, make(chan error, 1), time.Now()
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

// drain charges the batches of an Account while requests wait. A batch that lost to
// another writer is decided again, with the requests that came meanwhile. So is a batch whose
// storage read or write failed for a passing reason (retriable), after a pause, until the
// request's retryBudget is spent: a write that may have been stored is first looked for, and
// its decisions stand if it was; otherwise the batch is decided again on the versions read
// then, so that a retry never charges on a usage it has not read.
func (h *Webhook) drain(account string) {
	var lost []*pending
	var maybe *unsure
	retries := 0
	for {
		h.batches.mu.Lock()
		batch := append(lost, h.batches.waiting[account]...)
		delete(h.batches.waiting, account)
		batch = slices.DeleteFunc(batch, func(p *pending) bool { return p.ctx.Err() != nil })
		if len(batch) == 0 {
			delete(h.batches.running, account)
			h.batches.mu.Unlock()
			return
		}
		h.batches.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
		var results []error
		var stored bool
		var err error
		if maybe != nil {
			stored, err = h.stored(ctx, maybe)
			if err == nil {
				if stored {
					batch = maybe.settle(batch)
				}
				maybe = nil
			}
		}
		var tried []raw.Swap
		if err == nil && len(batch) > 0 {
			results, stored, tried, err = h.chargeBatch(ctx, account, batch)
		}
		cancel()
		lost = nil
		if err == nil && !stored {
			conflicts.Inc()
			lost = batch
			continue
		}
		if retriable(err) {
			if tried != nil {
				maybe = &unsure{batch: batch, results: results, swaps: tried}
			}
			// Requests out of time get the error; the others wait for the next try.
			now := time.Now()
			for _, p := range batch {
				if now.Sub(p.submitted) < retryBudget {
					lost = append(lost, p)
				} else {
					p.done <- err
				}
			}
			if len(lost) > 0 {
				retryCount.Inc()
				time.Sleep(backoff(retries))
				retries++
			} else {
				maybe, retries = nil, 0
			}
			continue
		}
		maybe, retries = nil, 0
		for i, p := range batch {
			if err != nil {
				p.done <- err
			} else {
				p.done <- results[i]
			}
		}
	}
}

// chargeBatch decides a batch on the versions of the Account's quotas this replica knows
// and writes it, and reports whether the write was stored. A request is taken by every quota
// that covers it or by none: one quota's refusal is the request's. The write compares every
// quota a decision rested on, so that none is decided on a version no longer stored.
//
// When the write fails, its swaps are returned with the error: it may have been stored.
func (h *Webhook) chargeBatch(ctx context.Context, account string, batch []*pending) ([]error, bool, []raw.Swap, error) {
	quotas, err := h.quotasOf(account)
	if err != nil {
		return nil, false, nil, err
	}
	type view struct {
		on *raw.Stored
		q  *config.AccountQuota
		*quota.Ledger
	}
	views := make([]*view, 0, len(quotas))
	ledgers := make([]*quota.Ledger, 0, len(quotas))
	for _, listed := range quotas {
		v, err := h.Charger.Current(ctx, listed.Name, false)
		if err == nil && v != nil && aqregistry.Quota(v).Generation < listed.Generation {
			// The spec changed since this replica last saw the quota.
			v, err = h.Charger.Current(ctx, listed.Name, true)
		}
		if err != nil {
			return nil, false, nil, err
		}
		if v == nil {
			// Gone from the storage: it takes and refuses nothing.
			continue
		}
		q := aqregistry.Quota(v)
		hard := q.Spec.Quota.Hard
		l := &quota.Ledger{Name: q.Name, Hard: hard, Used: quota.Total(hard, q.Status.Total.Used)}
		views = append(views, &view{on: v, q: q, Ledger: l})
		ledgers = append(ledgers, l)
	}
	results := make([]error, len(batch))
	demands := make([]quota.Demand, len(views))
	for i, p := range batch {
		for j, v := range views {
			demands[j] = p.demandOf(v.q)
		}
		results[i] = quota.Take(ledgers, demands, p.dryRun)
	}
	var swaps []raw.Swap
	for _, v := range views {
		switch {
		case v.Changed:
			q := v.q.DeepCopy()
			q.Status.Total.Hard, q.Status.Total.Used = v.Hard, v.Used
			next, err := h.Charger.Next(ctx, q.Name, q)
			if err != nil {
				return nil, false, nil, fmt.Errorf("encoding AccountQuota %s: %w", q.Name, err)
			}
			swaps = append(swaps, raw.Swap{Name: q.Name, Prev: v.on, Next: next})
		case v.Asked:
			swaps = append(swaps, raw.Swap{Name: v.q.Name, Prev: v.on})
		}
	}
	batchRequests.Observe(float64(len(batch)))
	if len(swaps) == 0 {
		return results, true, nil, nil
	}
	start := time.Now()
	stored, err := h.Charger.Commit(ctx, swaps...)
	result := "stored"
	switch {
	case err != nil:
		result = "error"
	case !stored:
		result = "lost"
	}
	transactionDuration.WithLabelValues(result).Observe(time.Since(start).Seconds())
	if err != nil {
		return results, false, swaps, err
	}
	return results, stored, nil, nil
}
