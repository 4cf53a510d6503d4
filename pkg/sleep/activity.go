package sleep

import (
	"slices"
	"strings"
)

// Request is a request in a Space, as the activity webhook or the audit sink sees it.
type Request struct {
	// User and Groups are the caller's.
	User   string
	Groups []string
	// Verb is the admission operation (CREATE, UPDATE, DELETE, CONNECT) or, from the audit
	// log, the request verb (get, list, watch, ...).
	Verb string
	// Group, Resource and Subresource name what the request is for.
	Group, Resource, Subresource string
	// DryRun requests change nothing.
	DryRun bool
}

// Counts reports whether r is activity in its Space: a request of a user, not one of
// Kubernetes' own components nor this server (self), that changes something or connects to
// a Pod (exec, attach, port-forward), or that reads, when the audit sink sends it. Writes
// of Events and Leases and of status are the work of the Space's own controllers and never
// count: they would keep a Space awake forever.
func Counts(r Request, self func(user string) bool) bool {
	if r.DryRun || r.User == "" || Component(r.User, r.Groups) || (self != nil && self(r.User)) {
		return false
	}
	switch {
	case r.Resource == "events" && (r.Group == "" || r.Group == "events.k8s.io"):
		return false
	case r.Resource == "leases" && r.Group == "coordination.k8s.io":
		return false
	case r.Subresource == "status":
		return false
	}
	switch strings.ToLower(r.Verb) {
	case "create", "update", "patch", "delete", "deletecollection", "connect", "get", "list", "watch":
		return true
	}
	return false
}

// Component reports whether user is one of Kubernetes' own components: kube-apiserver,
// the controller manager and its controllers' service accounts, the scheduler, kube-proxy
// and the kubelets.
func Component(user string, groups []string) bool {
	switch user {
	case "system:apiserver", "system:kube-controller-manager", "system:kube-scheduler", "system:kube-proxy":
		return true
	}
	if strings.HasPrefix(user, "system:node:") || strings.HasPrefix(user, "system:serviceaccount:kube-system:") {
		return true
	}
	return slices.Contains(groups, "system:nodes")
}
