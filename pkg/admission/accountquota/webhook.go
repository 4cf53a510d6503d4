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
	resp := h.admit(r.Context(), review.Request)
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
	for attempt := 0; ; attempt++ {
		err = h.charge(ctx, names, gr, obj, old, dryRun)
		if !apierrors.IsConflict(err) || attempt == 20 {
			break
		}
	}
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

// charge reads the quotas from storage, works out the new usage and writes it back with
// the resourceVersion it read: a concurrent charge makes the write fail with a conflict,
// and the caller tries again from fresh reads.
func (h *Webhook) charge(ctx context.Context, names []string, gr schema.GroupResource, obj, old *unstructured.Unstructured, dryRun bool) error {
	client := h.Config.ConfigV1alpha1().AccountQuotas()
	current := make([]*configv1alpha1.AccountQuota, 0, len(names))
	quotas := make([]quota.Quota, 0, len(names))
	for _, name := range names {
		q, err := client.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		current = append(current, q)
		quotas = append(quotas, quota.Quota{Name: q.Name, Spec: q.Spec.Quota, Used: q.Status.Total.Used})
	}
	used, err := quota.Admit(quotas, gr, obj, old)
	if err != nil || dryRun {
		return err
	}
	for i, q := range current {
		if used[i] == nil {
			continue
		}
		q = q.DeepCopy()
		q.Status.Total.Hard = q.Spec.Quota.Hard
		q.Status.Total.Used = used[i]
		if _, err := client.UpdateStatus(ctx, q, metav1.UpdateOptions{FieldManager: FieldManager}); err != nil {
			return err
		}
	}
	return nil
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
