package accountquota

import (
	"net/http"
	"sync/atomic"

	"k8s.io/klog/v2"
)

// Endpoint serves the webhook at Path ahead of the server's handler chain. kube-apiserver
// calls webhooks without credentials, so the chain's authentication and authorization have
// nothing to decide, and its priority and fairness would put every call in the share of
// anonymous requests, where a burst of admissions queues behind its few seats and times out.
// The webhook bounds its own work instead: one batch per Account at a time.
type Endpoint struct {
	webhook atomic.Pointer[Webhook]
	// Caller, when set, is the only client the webhook answers.
	Caller *Caller
}

// Set gives the endpoint the webhook to serve; until then it answers 503.
func (e *Endpoint) Set(w *Webhook) { e.webhook.Store(w) }

// Wrap returns chain with the webhook's path served by the endpoint.
func (e *Endpoint) Wrap(chain http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != Path {
			chain.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodPost {
			http.Error(w, "the AccountQuota webhook takes POST", http.StatusMethodNotAllowed)
			return
		}
		if e.Caller != nil {
			if code, err := e.Caller.check(r); err != nil {
				klog.V(2).InfoS("Refused an AccountQuota webhook call", "remote", r.RemoteAddr, "err", err)
				http.Error(w, err.Error(), code)
				return
			}
		}
		h := e.webhook.Load()
		if h == nil {
			http.Error(w, "the AccountQuota webhook is not serving yet", http.StatusServiceUnavailable)
			return
		}
		defer func() {
			if v := recover(); v != nil {
				klog.ErrorS(nil, "AccountQuota webhook panicked", "panic", v)
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		h.ServeHTTP(w, r)
	})
}
