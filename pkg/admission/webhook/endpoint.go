// Package webhook serves the server's admission webhooks (AccountQuota, Pod isolation)
// ahead of its handler chain, each at its own path, all answering only the Caller.
package webhook

import (
	"net/http"
	"sync/atomic"

	"k8s.io/klog/v2"
)

// Endpoint serves webhooks ahead of the server's handler chain. kube-apiserver calls
// webhooks without credentials, so the chain's authentication and authorization have
// nothing to decide, and its priority and fairness would put every call in the share of
// anonymous requests, where a burst of admissions queues behind its few seats and times out.
// Each webhook bounds its own work instead.
type Endpoint struct {
	// Caller, when set, is the only client the webhooks answer.
	Caller *Caller
	hooks  map[string]*Hook
}

// Hook is one webhook of an Endpoint, at its path.
type Hook struct {
	name    string
	handler atomic.Pointer[http.Handler]
}

// Register adds the webhook named name (for messages and logs) at path. Call it before
// Wrap.
func (e *Endpoint) Register(path, name string) *Hook {
	if e.hooks == nil {
		e.hooks = map[string]*Hook{}
	}
	h := &Hook{name: name}
	e.hooks[path] = h
	return h
}

// Set gives the hook the handler it serves; until then it answers 503.
func (h *Hook) Set(handler http.Handler) { h.handler.Store(&handler) }

// Wrap returns chain with the webhooks' paths served by the endpoint.
func (e *Endpoint) Wrap(chain http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hook, ok := e.hooks[r.URL.Path]
		if !ok {
			chain.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodPost {
			http.Error(w, "the "+hook.name+" webhook takes POST", http.StatusMethodNotAllowed)
			return
		}
		if e.Caller != nil {
			if code, err := e.Caller.check(r, hook.name); err != nil {
				klog.V(2).InfoS("Refused a webhook call", "webhook", hook.name, "remote", r.RemoteAddr, "err", err)
				http.Error(w, err.Error(), code)
				return
			}
		}
		h := hook.handler.Load()
		if h == nil {
			http.Error(w, "the "+hook.name+" webhook is not serving yet", http.StatusServiceUnavailable)
			return
		}
		defer func() {
			if v := recover(); v != nil {
				klog.ErrorS(nil, "Webhook panicked", "webhook", hook.name, "panic", v)
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		(*h).ServeHTTP(w, r)
	})
}
