package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func writeKey(t *testing.T, key crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "signing.key")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func newECKey(t *testing.T, curve elliptic.Curve) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(curve, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return writeKey(t, key)
}

// startIssuer serves the issuer's handler over TLS at its own URL plus path.
func startIssuer(t *testing.T, keyFile, path string) (*httptest.Server, string) {
	t.Helper()
	key, err := loadSigningKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	issuer := "https://" + srv.Listener.Addr().String() + path
	if srv.Config.Handler, err = newHandler(issuer, key); err != nil {
		t.Fatal(err)
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, issuer
}

func getJSON(t *testing.T, c *http.Client, url string, v any) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s: %s, Content-Type %q", url, resp.Status, resp.Header.Get("Content-Type"))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// TestATokenVerifiesAgainstTheServedKeys follows what kube-apiserver does: discovery, then
// the key set it names, then the token's signature and claims.
func TestATokenVerifiesAgainstTheServedKeys(t *testing.T) {
	for _, path := range []string{"", "/tenants"} {
		t.Run("path "+path, func(t *testing.T) {
			keyFile := newECKey(t, elliptic.P256())
			srv, issuer := startIssuer(t, keyFile, path)
			var doc discovery
			getJSON(t, srv.Client(), issuer+discoveryPath, &doc)
			if doc.Issuer != issuer || doc.JWKSURI != issuer+keysPath {
				t.Fatalf("discovery names issuer %q and keys %q, want %q and %q", doc.Issuer, doc.JWKSURI, issuer, issuer+keysPath)
			}
			var keys jose.JSONWebKeySet
			getJSON(t, srv.Client(), doc.JWKSURI, &keys)
			if len(keys.Keys) != 1 || !keys.Keys[0].IsPublic() {
				t.Fatalf("want one public key, got %+v", keys.Keys)
			}

			raw := run(t, "--issuer-url="+issuer, "--signing-key-file="+keyFile, "--audience=local",
				"--user=dev", "--group=team-a", "--group=team-b", "--lifetime=10m")
			tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
			if err != nil {
				t.Fatal(err)
			}
			if kid := tok.Headers[0].KeyID; len(keys.Key(kid)) != 1 {
				t.Fatalf("the token's key ID %q is not in the key set", kid)
			}
			var std jwt.Claims
			var extra idClaims
			if err := tok.Claims(keys.Keys[0].Key, &std, &extra); err != nil {
				t.Fatalf("signature: %v", err)
			}
			if err := std.ValidateWithLeeway(jwt.Expected{Issuer: issuer, AnyAudience: jwt.Audience{"local"}, Time: time.Now()}, 0); err != nil {
				t.Fatal(err)
			}
			if std.Subject != "dev" || !reflect.DeepEqual(extra.Groups, []string{"team-a", "team-b"}) {
				t.Fatalf("sub %q groups %q", std.Subject, extra.Groups)
			}
			if life := std.Expiry.Time().Sub(std.IssuedAt.Time()); life != 10*time.Minute {
				t.Fatalf("lifetime %s, want 10m", life)
			}
		})
	}
}

func run(t *testing.T, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if err := token(args, &out); err != nil {
		t.Fatalf("token %q: %v", args, err)
	}
	return strings.TrimSpace(out.String())
}

func TestAnExpiredTokenFailsValidation(t *testing.T) {
	keyFile := newECKey(t, elliptic.P256())
	raw := run(t, "--issuer-url=https://127.0.0.1:1", "--signing-key-file="+keyFile, "--audience=local",
		"--user=dev", "--issued-ago=2h", "--lifetime=1h")
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	var std jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&std); err != nil {
		t.Fatal(err)
	}
	err = std.ValidateWithLeeway(jwt.Expected{Time: time.Now()}, time.Minute)
	if !errors.Is(err, jwt.ErrExpired) {
		t.Fatalf("want expired, got %v (exp %s)", err, std.Expiry.Time())
	}
}

func TestExecCredentialCarriesTheTokenAndItsExpiry(t *testing.T) {
	keyFile := newECKey(t, elliptic.P256())
	before := time.Now().Truncate(time.Second)
	out := run(t, "--issuer-url=https://127.0.0.1:1", "--signing-key-file="+keyFile, "--audience=local",
		"--user=dev", "--lifetime=30m", "--exec-credential")
	var cred execCredential
	if err := json.Unmarshal([]byte(out), &cred); err != nil {
		t.Fatal(err)
	}
	if cred.APIVersion != "client.authentication.k8s.io/v1" || cred.Kind != "ExecCredential" || strings.Count(cred.Status.Token, ".") != 2 {
		t.Fatalf("%s", out)
	}
	exp, err := time.Parse(time.RFC3339, cred.Status.ExpirationTimestamp)
	if err != nil {
		t.Fatal(err)
	}
	if d := exp.Sub(before); d < 30*time.Minute || d > 31*time.Minute {
		t.Fatalf("expiry %s is not 30 minutes after %s", exp, before)
	}
}

func TestEnvFileGivesTheDefaults(t *testing.T) {
	keyFile := newECKey(t, elliptic.P256())
	env := filepath.Join(t.TempDir(), "env")
	data := "# settings\nOIDC_ISSUER_URL=https://127.0.0.1:24443\nOIDC_SIGNING_KEY=" + keyFile + "\nOIDC_AUDIENCE=tenancy-local\n"
	if err := os.WriteFile(env, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := parseToken([]string{"--env=" + env, "--user=dev", "--audience=other"})
	if err != nil {
		t.Fatal(err)
	}
	if o.issuerURL != "https://127.0.0.1:24443" || o.signingKeyFile != keyFile || o.audience != "other" {
		t.Fatalf("%+v: a flag overrides the file, the file fills in the rest", o)
	}
}

func TestTokenFlagsAreChecked(t *testing.T) {
	ok := []string{"--issuer-url=https://127.0.0.1:1", "--signing-key-file=k", "--audience=a", "--user=u"}
	tests := map[string]struct {
		args []string
		want string
	}{
		"no user":        {args: ok[:3], want: "--user is required"},
		"http issuer":    {args: append([]string{"--issuer-url=http://127.0.0.1:1"}, ok[1:]...), want: "--issuer-url"},
		"issuer query":   {args: append([]string{"--issuer-url=https://127.0.0.1:1/?a=b"}, ok[1:]...), want: "--issuer-url"},
		"no audience":    {args: []string{ok[0], ok[1], ok[3]}, want: "--audience is required"},
		"empty group":    {args: append(ok, "--group="), want: "--group must not be empty"},
		"zero lifetime":  {args: append(ok, "--lifetime=0s"), want: "--lifetime 0s"},
		"long lifetime":  {args: append(ok, "--lifetime=25h"), want: "at most 24h"},
		"negative ago":   {args: append(ok, "--issued-ago=-1m"), want: "--issued-ago -1m0s"},
		"stray argument": {args: append(ok, "dev"), want: "unexpected arguments"},
		"missing env":    {args: append(ok, "--env=/nonexistent/env"), want: "--env"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := parseToken(tt.args)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want an error with %q, got %v", tt.want, err)
			}
		})
	}
	if _, err := parseToken(ok); err != nil {
		t.Fatalf("valid flags refused: %v", err)
	}
}

func TestServeFlagsAreChecked(t *testing.T) {
	tests := map[string]struct {
		args []string
		want string
	}{
		"not loopback": {args: []string{"--listen=0.0.0.0:24443"}, want: "want a loopback IP"},
		"no files":     {args: nil, want: "--signing-key-file is required; --tls-cert-file is required; --tls-private-key-file is required"},
		"http issuer":  {args: []string{"--issuer-url=http://127.0.0.1:24443"}, want: "--issuer-url"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := parseServe(tt.args)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want an error with %q, got %v", tt.want, err)
			}
		})
	}
	o, err := parseServe([]string{"--tls-cert-file=c", "--tls-private-key-file=k", "--signing-key-file=s"})
	if err != nil || o.issuerURL != "https://127.0.0.1:24443" {
		t.Fatalf("%+v, %v: the issuer URL defaults to the listen address", o, err)
	}
}

func TestSigningKeysOfWeakOrUnknownKindsAreRefused(t *testing.T) {
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(t.TempDir(), "garbage.key")
	if err := os.WriteFile(garbage, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct{ path, want string }{
		"P-384":    {newECKey(t, elliptic.P384()), "P-256"},
		"RSA-1024": {writeKey(t, weak), "at least 2048 bits"},
		"garbage":  {garbage, "no PEM PRIVATE KEY"},
		"missing":  {"/nonexistent/key", "no such file"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := loadSigningKey(tt.path)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want an error with %q, got %v", tt.want, err)
			}
		})
	}
}

func TestOnlyGetOfTheTwoDocumentsIsServed(t *testing.T) {
	srv, issuer := startIssuer(t, newECKey(t, elliptic.P256()), "")
	for _, tt := range []struct {
		method, path string
		want         int
	}{
		{http.MethodPost, discoveryPath, http.StatusMethodNotAllowed},
		{http.MethodDelete, keysPath, http.StatusMethodNotAllowed},
		{http.MethodGet, "/token", http.StatusNotFound},
		{http.MethodGet, "/", http.StatusNotFound},
	} {
		req, err := http.NewRequest(tt.method, issuer+tt.path, strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
		}
	}
}
