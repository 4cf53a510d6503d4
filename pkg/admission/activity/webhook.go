package activity

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/sleep"
)

// Path is where the activity webhook is served.
const Path = "/admission/activity"

const maxBody = 8 << 20

// Webhook is the validating webhook that sees the writes and connections in Spaces. It
// admits everything: it only records activity, and kube-apiserver calls it with
// failurePolicy Ignore, so that sleep mode never blocks a tenant.
type Webhook struct {
	Recorder *Recorder
}

// review is the part of an AdmissionReview the webhook reads; the objects are skipped.
type review struct {
	metav1.TypeMeta `json:",inline"`
	Request         *struct {
		UID         types.UID                   `json:"uid"`
		Resource    metav1.GroupVersionResource `json:"resource"`
		SubResource string                      `json:"subResource,omitempty"`
		Namespace   string                      `json:"namespace,omitempty"`
		Operation   string                      `json:"operation"`
		UserInfo    authenticationv1.UserInfo   `json:"userInfo"`
		DryRun      *bool                       `json:"dryRun,omitempty"`
	} `json:"request,omitempty"`
}

// ServeHTTP answers one AdmissionReview, always allowing.
func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	in := &review{}
	if err := json.Unmarshal(body, in); err != nil || in.Request == nil {
		http.Error(w, fmt.Sprintf("not an AdmissionReview: %v", err), http.StatusBadRequest)
		return
	}
	req := in.Request
	h.Recorder.Observe(sleep.Request{
		User: req.UserInfo.Username, Groups: req.UserInfo.Groups, Verb: req.Operation,
		Group: req.Resource.Group, Resource: req.Resource.Resource, Subresource: req.SubResource,
		DryRun: req.DryRun != nil && *req.DryRun,
	}, req.Namespace, SourceWebhook)
	out := admissionv1.AdmissionReview{TypeMeta: in.TypeMeta,
		Response: &admissionv1.AdmissionResponse{UID: req.UID, Allowed: true}}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
	webhookDuration.Observe(time.Since(start).Seconds())
}
