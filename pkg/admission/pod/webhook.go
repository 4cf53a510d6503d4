// Package pod is the mutating webhook that holds the Pods of every Space to its Account's
// spec.isolation: kube-apiserver sends it the Pods created in namespaces labelled
// kiosk.sh/account (and their updates, and ephemeral containers), and it adds the Account's
// node selector, tolerations, default PriorityClass and imagePullPolicy, or refuses a Pod
// that would leave the Account's nodes or PriorityClasses. The decisions are pkg/isolation's.
package pod

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/klog/v2"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/admission/webhook"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/isolation"
)

// Path is where the webhook is served.
const Path = "/admission/pods"

const maxBody = 8 << 20

// AccountGetter reads an Account; NotFound when there is none.
type AccountGetter interface {
	Get(ctx context.Context, name string) (*configv1alpha1.Account, error)
}

// NamespaceGetter reads a namespace from kube-apiserver.
type NamespaceGetter func(ctx context.Context, name string) (*corev1.Namespace, error)

// Webhook applies the isolation of Accounts to the Pods of their Spaces.
type Webhook struct {
	// Spaces tells which Account a namespace belongs to.
	Spaces *access.View[*corev1.Namespace]
	// Namespace reads a namespace the Spaces do not know yet: kube-apiserver sends only
	// namespaces labelled kiosk.sh/account, and none may slip through because the access
	// index has not seen it.
	Namespace NamespaceGetter
	// Accounts reads Accounts: the informer's cache first, then the storage.
	Accounts AccountGetter
	// Cluster reads nodes and PriorityClasses.
	Cluster isolation.Cluster
	// Synced reports whether the caches behind Accounts and Cluster hold what existed at
	// start; a request waits for them a few seconds and is refused if they are not, so
	// that none is admitted unchecked.
	Synced func() bool
	// Exempt reports whether the user named is this server itself, whose Pods (those of
	// Templates that admins wrote) are admitted as they are.
	Exempt func(user string) bool
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
	req := review.Request
	resp, reason := h.admit(r.Context(), req)
	observe(string(req.Operation), req.SubResource, resp, reason, time.Since(start))
	resp.UID = req.UID
	out := admissionv1.AdmissionReview{TypeMeta: review.TypeMeta, Response: resp}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

func allow() *admissionv1.AdmissionResponse { return &admissionv1.AdmissionResponse{Allowed: true} }

func deny(code int32, reason metav1.StatusReason, msg string) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Allowed: false, Result: &metav1.Status{
		Status: metav1.StatusFailure, Code: code, Reason: reason, Message: msg}}
}

func internal(err error) *admissionv1.AdmissionResponse {
	return deny(http.StatusInternalServerError, metav1.StatusReasonInternalError, err.Error())
}

// admit decides req, and returns with a refusal the reason metrics count it under.
func (h *Webhook) admit(ctx context.Context, req *admissionv1.AdmissionRequest) (*admissionv1.AdmissionResponse, string) {
	if req.Resource.Group != "" || req.Resource.Resource != "pods" || req.Namespace == "" ||
		(req.SubResource != "" && req.SubResource != "ephemeralcontainers") ||
		(req.Operation != admissionv1.Create && req.Operation != admissionv1.Update) {
		return allow(), ""
	}
	if !webhook.WaitReady(ctx, h.Synced) {
		return deny(http.StatusServiceUnavailable, metav1.StatusReasonServiceUnavailable,
			"the Pod isolation webhook has not read the cluster's Accounts, nodes and PriorityClasses yet"), "not_ready"
	}
	if h.Exempt != nil && h.Exempt(req.UserInfo.Username) {
		return allow(), ""
	}
	policy, err := h.policyOf(ctx, req.Namespace)
	if err != nil {
		klog.FromContext(ctx).Error(err, "Reading the isolation of a Space", "namespace", req.Namespace)
		return internal(fmt.Errorf("isolation of namespace %s: %w", req.Namespace, err)), "error"
	}
	if policy == nil || !policy.Enforced() {
		return allow(), ""
	}
	pod, err := decode(req.Object.Raw)
	if err != nil {
		return deny(http.StatusBadRequest, metav1.StatusReasonBadRequest, fmt.Sprintf("reading the Pod: %v", err)), "error"
	}
	before := pod.DeepCopy()
	var errs field.ErrorList
	switch {
	case req.Operation == admissionv1.Create && req.SubResource == "":
		if errs, err = policy.AdmitCreate(pod, h.Cluster); err != nil {
			klog.FromContext(ctx).Error(err, "Admitting a Pod", "namespace", req.Namespace, "account", policy.Account)
			return internal(err), "error"
		}
	case req.Operation == admissionv1.Update:
		old, err := decode(req.OldObject.Raw)
		if err != nil {
			return deny(http.StatusBadRequest, metav1.StatusReasonBadRequest, fmt.Sprintf("reading the old Pod: %v", err)), "error"
		}
		if req.SubResource == "ephemeralcontainers" {
			policy.AdmitEphemeralContainers(old, pod)
		} else {
			errs = policy.AdmitUpdate(old, pod)
		}
	}
	if len(errs) > 0 {
		klog.FromContext(ctx).V(2).Info("Refused a Pod", "namespace", req.Namespace, "account", policy.Account,
			"user", req.UserInfo.Username, "err", errs.ToAggregate())
		return deny(http.StatusForbidden, metav1.StatusReasonForbidden, errs.ToAggregate().Error()), reasonOf(errs)
	}
	patch := patchOf(&before.Spec, &pod.Spec)
	if len(patch) == 0 {
		return allow(), ""
	}
	raw, err := json.Marshal(patch)
	if err != nil {
		return internal(err), "error"
	}
	pt := admissionv1.PatchTypeJSONPatch
	return &admissionv1.AdmissionResponse{Allowed: true, Patch: raw, PatchType: &pt}, ""
}

// policyOf is the isolation of the Account of namespace, nil when it belongs to none.
func (h *Webhook) policyOf(ctx context.Context, namespace string) (*isolation.Policy, error) {
	ns, ok := h.Spaces.Snapshot().Get(namespace)
	if !ok {
		var err error
		if ns, err = h.Namespace(ctx, namespace); apierrors.IsNotFound(err) {
			return nil, nil
		} else if err != nil {
			return nil, err
		}
	}
	name := ns.Labels[configv1alpha1.AccountLabel]
	if name == "" {
		return nil, nil
	}
	account, err := h.Accounts.Get(ctx, name)
	if apierrors.IsNotFound(err) {
		// No Account, no isolation to keep: the Space is orphaned, as in kiosk.
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &isolation.Policy{Account: name, AccountIsolation: account.Spec.Isolation}, nil
}

func decode(raw []byte) (*corev1.Pod, error) {
	pod := &corev1.Pod{}
	if err := json.Unmarshal(raw, pod); err != nil {
		return nil, err
	}
	return pod, nil
}
