package main

import (
	"crypto/subtle"
	"crypto/tls"
	"io"
	"log"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// Config is what a Server needs.
type Config struct {
	// Username and Password are the one user's credentials, required on every request.
	Username, Password string
	// Certificate is the serving certificate.
	Certificate tls.Certificate
	// Logger logs requests; nil discards them.
	Logger *log.Logger
}

// NewServer returns an HTTPS server of an in-memory OCI registry behind basic authentication.
func NewServer(c Config) *http.Server {
	if c.Logger == nil {
		c.Logger = log.New(io.Discard, "", 0)
	}
	return &http.Server{
		Handler:           authenticate(c.Username, c.Password, c.Logger, registry.New(registry.Logger(c.Logger))),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{c.Certificate}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          c.Logger,
	}
}

// refused counts requests refused for missing or wrong credentials.
var refused atomic.Int64

// authenticate serves next only to requests with the user's basic credentials, and answers
// others 401 with a Basic challenge and an OCI error body, as registries do.
func authenticate(username, password string, logger *log.Logger, next http.Handler) http.Handler {
	want := []byte(username + ":" + password)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u+":"+p), want) != 1 {
			n := refused.Add(1)
			logger.Printf("refused %s %s from %s: %s (%d refused so far)", r.Method, r.URL.Path, r.RemoteAddr, reason(ok), n)
			w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func reason(hadCredentials bool) string {
	if hadCredentials {
		return "wrong username or password"
	}
	return "no credentials"
}
