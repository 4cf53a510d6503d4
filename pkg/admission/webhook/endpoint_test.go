package webhook

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func serve(h http.Handler, method, path string, state *tls.ConnectionState) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(method, path, strings.NewReader("{}"))
	req.TLS = state
	h.ServeHTTP(rec, req)
	return rec
}

// The endpoint serves each registered path with its hook, and everything else with the chain.
func TestEndpointRoutes(t *testing.T) {
	e := &Endpoint{}
	quota := e.Register("/admission/accountquota", "AccountQuota")
	pods := e.Register("/admission/pods", "Pod isolation")
	h := e.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))

	assert.Equal(t, http.StatusTeapot, serve(h, http.MethodGet, "/apis", nil).Code, "other paths go to the chain")
	rec := serve(h, http.MethodPost, "/admission/pods", nil)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code, "not set yet")
	assert.Contains(t, rec.Body.String(), "the Pod isolation webhook is not serving yet")

	quota.Set(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusAccepted) }))
	pods.Set(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	assert.Equal(t, http.StatusAccepted, serve(h, http.MethodPost, "/admission/accountquota", nil).Code)
	rec = serve(h, http.MethodGet, "/admission/accountquota", nil)
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	assert.Contains(t, rec.Body.String(), "the AccountQuota webhook takes POST")
	assert.Equal(t, http.StatusInternalServerError, serve(h, http.MethodPost, "/admission/pods", nil).Code, "a panic is a 500, not a crash")
}

// With a Caller, a hook answers only its certificate, naming the hook in the refusal.
func TestEndpointChecksTheCaller(t *testing.T) {
	e := &Endpoint{Caller: &Caller{Roots: x509.NewCertPool(), Name: "kube-apiserver"}}
	e.Register("/admission/pods", "Pod isolation").Set(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	h := e.Wrap(http.NotFoundHandler())
	rec := serve(h, http.MethodPost, "/admission/pods", nil)
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Contains(t, rec.Body.String(), "the Pod isolation webhook needs a client certificate")
	// A certificate the roots did not sign.
	rec = serve(h, http.MethodPost, "/admission/pods", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{{}}})
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Contains(t, rec.Body.String(), "the Pod isolation webhook does not trust the client certificate")
}
