package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Paths the issuer serves, below its URL.
const (
	discoveryPath = "/.well-known/openid-configuration"
	keysPath      = "/keys"
)

// serveOptions are the command line of `oidc-issuer serve`.
type serveOptions struct {
	listen, issuerURL, certFile, keyFile, signingKeyFile string
}

func parseServe(args []string) (serveOptions, error) {
	fs := flag.NewFlagSet("oidc-issuer serve", flag.ContinueOnError)
	var o serveOptions
	fs.StringVar(&o.listen, "listen", "127.0.0.1:24443", "loopback host:port to serve on")
	fs.StringVar(&o.issuerURL, "issuer-url", "", "the issuer's URL, the tokens' iss claim (default https://<listen>)")
	fs.StringVar(&o.certFile, "tls-cert-file", "", "serving certificate, PEM (required)")
	fs.StringVar(&o.keyFile, "tls-private-key-file", "", "its private key, PEM (required)")
	fs.StringVar(&o.signingKeyFile, "signing-key-file", "", "the tokens' signing key, PEM PKCS #8, ECDSA P-256 or RSA (required)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	var errs []string
	host, _, err := net.SplitHostPort(o.listen)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		errs = append(errs, fmt.Sprintf("--listen %q: want a loopback IP and a port", o.listen))
	}
	if o.issuerURL == "" {
		o.issuerURL = "https://" + o.listen
	}
	if err := validIssuerURL(o.issuerURL); err != nil {
		errs = append(errs, "--issuer-url: "+err.Error())
	}
	errs = append(errs, required(map[string]string{
		"--tls-cert-file": o.certFile, "--tls-private-key-file": o.keyFile, "--signing-key-file": o.signingKeyFile,
	})...)
	if len(errs) > 0 {
		return o, errors.New(strings.Join(errs, "; "))
	}
	return o, nil
}

// required names each flag in values (flag to value) that is empty, in order.
func required(values map[string]string) []string {
	var errs []string
	for _, flag := range slices.Sorted(maps.Keys(values)) {
		if values[flag] == "" {
			errs = append(errs, flag+" is required")
		}
	}
	return errs
}

// validIssuerURL checks what kube-apiserver requires of an issuer URL: https, a host, no
// query or fragment.
func validIssuerURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("%q: want https://host[:port][/path], without user, query or fragment", s)
	}
	return nil
}

func serve(args []string) error {
	o, err := parseServe(args)
	if err != nil {
		return err
	}
	key, err := loadSigningKey(o.signingKeyFile)
	if err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(o.certFile, o.keyFile)
	if err != nil {
		return fmt.Errorf("serving certificate: %w", err)
	}
	handler, err := newHandler(o.issuerURL, key)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(os.Stderr, "oidc-issuer: ", log.LstdFlags),
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(l, "", "") }()
	log.Printf("oidc-issuer: serving %s (key %s) on https://%s", o.issuerURL, key.jwk.KeyID, l.Addr())
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(shutdown)
	}
}

// discovery is the part of the OpenID Provider Metadata (OpenID Connect Discovery 1.0) that
// kube-apiserver reads: the issuer and where its keys are.
type discovery struct {
	Issuer                 string   `json:"issuer"`
	JWKSURI                string   `json:"jwks_uri"`
	ResponseTypes          []string `json:"response_types_supported"`
	SubjectTypes           []string `json:"subject_types_supported"`
	IDTokenSigningAlgs     []string `json:"id_token_signing_alg_values_supported"`
	ClaimsSupported        []string `json:"claims_supported"`
	GrantTypesSupported    []string `json:"grant_types_supported"`
	TokenEndpointAuthTypes []string `json:"token_endpoint_auth_methods_supported"`
}

// newHandler serves the discovery document and the key set of issuer, both below the
// issuer URL's path, to GET and HEAD only.
func newHandler(issuer string, key *signingKey) (http.Handler, error) {
	u, err := url.Parse(issuer)
	if err != nil {
		return nil, err
	}
	base := strings.TrimSuffix(u.Path, "/")
	doc, err := json.Marshal(discovery{
		Issuer:                 issuer,
		JWKSURI:                strings.TrimSuffix(issuer, "/") + keysPath,
		ResponseTypes:          []string{"id_token"},
		SubjectTypes:           []string{"public"},
		IDTokenSigningAlgs:     []string{key.jwk.Algorithm},
		ClaimsSupported:        []string{"iss", "sub", "aud", "exp", "iat", "nbf", "groups"},
		GrantTypesSupported:    []string{"implicit"},
		TokenEndpointAuthTypes: []string{"none"},
	})
	if err != nil {
		return nil, err
	}
	keys, err := json.Marshal(key.public())
	if err != nil {
		return nil, fmt.Errorf("encoding the key set: %w", err)
	}
	mux := http.NewServeMux()
	for path, body := range map[string][]byte{base + discoveryPath: doc, base + keysPath: keys} {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			_, _ = w.Write(body)
		})
	}
	return mux, nil
}
