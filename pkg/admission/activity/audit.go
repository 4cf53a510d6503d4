package activity

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	authenticationv1 "k8s.io/api/authentication/v1"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/sleep"
)

// AuditPath is where the audit sink is served, when it is on.
const AuditPath = "/audit/activity"

// maxAuditBody bounds one batch of audit events.
const maxAuditBody = 32 << 20

// AuditSink takes kube-apiserver's audit events (an audit webhook backend) and counts the
// requests in Spaces, reads included, as activity. Writes count twice at most, once here
// and once through the activity webhook; both only move the last activity forward.
type AuditSink struct {
	Recorder *Recorder
}

// event is the part of an audit.k8s.io/v1 Event the sink reads.
type event struct {
	Stage            string                     `json:"stage"`
	Verb             string                     `json:"verb"`
	User             authenticationv1.UserInfo  `json:"user"`
	ImpersonatedUser *authenticationv1.UserInfo `json:"impersonatedUser,omitempty"`
	ObjectRef        *struct {
		Resource    string `json:"resource,omitempty"`
		Namespace   string `json:"namespace,omitempty"`
		Name        string `json:"name,omitempty"`
		APIGroup    string `json:"apiGroup,omitempty"`
		Subresource string `json:"subresource,omitempty"`
	} `json:"objectRef,omitempty"`
}

// ServeHTTP takes one audit.k8s.io/v1 EventList.
func (s *AuditSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxAuditBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	list := struct {
		Kind  string  `json:"kind"`
		Items []event `json:"items"`
	}{}
	if err := json.Unmarshal(body, &list); err != nil || list.Kind != "EventList" {
		http.Error(w, fmt.Sprintf("not an audit.k8s.io EventList: %v", err), http.StatusBadRequest)
		return
	}
	for _, e := range list.Items {
		if e.Stage != "ResponseComplete" || e.ObjectRef == nil {
			continue
		}
		u := e.User
		if e.ImpersonatedUser != nil {
			u = *e.ImpersonatedUser
		}
		space := e.ObjectRef.Namespace
		if space == "" && e.ObjectRef.Resource == "namespaces" && e.ObjectRef.APIGroup == "" {
			space = e.ObjectRef.Name
		}
		s.Recorder.Observe(sleep.Request{User: u.Username, Groups: u.Groups, Verb: e.Verb,
			Group: e.ObjectRef.APIGroup, Resource: e.ObjectRef.Resource, Subresource: e.ObjectRef.Subresource}, space, SourceAudit)
	}
	w.WriteHeader(http.StatusOK)
}
