package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	orasremote "oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/retry"
)

const user, password = "local", "s3cret-pass"

// served is a registry a test started.
type served struct {
	addr, caFile, passwordFile string
	// transport trusts only the registry's CA.
	transport *http.Transport
}

// start serves a registry, set up from its flags as main does, on a free loopback port, and
// returns its host:port and a transport that trusts only the CA it wrote.
func start(t *testing.T) (string, *http.Transport) {
	s := startServed(t)
	return s.addr, s.transport
}

func startServed(t *testing.T) served {
	t.Helper()
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	certDir := filepath.Join(dir, "certs")
	o, err := parse([]string{"--listen=" + ln.Addr().String(), "--cert-dir=" + certDir, "--username=" + user, "--password-file=" + pwFile})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := setup(o, log.New(io.Discard, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	caPEM, err := os.ReadFile(filepath.Join(certDir, "ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		t.Fatalf("ca.crt holds no certificate: %s", caPEM)
	}
	return served{addr: ln.Addr().String(), caFile: filepath.Join(certDir, "ca.crt"), passwordFile: pwFile,
		transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

func TestPushAndPullAnImageWithCredentialsOnly(t *testing.T) {
	addr, tr := start(t)
	ref, err := name.ParseReference(addr + "/library/nginx:latest")
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(1024, 2)
	if err != nil {
		t.Fatal(err)
	}
	creds := remote.WithAuth(&authn.Basic{Username: user, Password: password})
	if err := remote.Write(ref, img, remote.WithTransport(tr), creds); err != nil {
		t.Fatalf("push with credentials: %v", err)
	}
	pulled, err := remote.Image(ref, remote.WithTransport(tr), creds)
	if err != nil {
		t.Fatalf("pull with credentials: %v", err)
	}
	want, _ := img.Digest()
	if got, _ := pulled.Digest(); got != want {
		t.Errorf("pulled %s, pushed %s", got, want)
	}

	// Without credentials, or with wrong ones, nothing is pushed, pulled or listed.
	other, _ := random.Image(512, 1)
	for what, opt := range map[string]remote.Option{
		"no credentials": remote.WithAuth(authn.Anonymous),
		"wrong password": remote.WithAuth(&authn.Basic{Username: user, Password: "guess"}),
		"wrong user":     remote.WithAuth(&authn.Basic{Username: "admin", Password: password}),
	} {
		if err := remote.Write(ref, other, remote.WithTransport(tr), opt); !unauthorized(err) {
			t.Errorf("push with %s: %v, want 401", what, err)
		}
		if _, err := remote.Image(ref, remote.WithTransport(tr), opt); !unauthorized(err) {
			t.Errorf("pull with %s: %v, want 401", what, err)
		}
		if _, err := remote.List(ref.Context(), remote.WithTransport(tr), opt); !unauthorized(err) {
			t.Errorf("tag list with %s: %v, want 401", what, err)
		}
	}
	if got, err := remote.Image(ref, remote.WithTransport(tr), creds); err != nil {
		t.Fatal(err)
	} else if d, _ := got.Digest(); d != want {
		t.Errorf("a refused push replaced the image: %s, want %s", d, want)
	}

	// Every path, every method: a 401 with a Basic challenge.
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		for _, path := range []string{"/v2/", "/v2/_catalog", "/v2/library/nginx/manifests/latest", "/v2/library/nginx/blobs/uploads/", "/", "/metrics"} {
			req, _ := http.NewRequest(method, "https://"+addr+path, nil)
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("%s %s without credentials: %d %q", method, path, resp.StatusCode, body)
			}
		}
	}

	// A client that does not trust the CA does not talk to it.
	if _, err := http.Get("https://" + addr + "/v2/"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a client without the CA: %v, want a certificate error", err)
	}
}

func TestPushAndPullAHelmChartWithCredentialsOnly(t *testing.T) {
	addr, tr := start(t)
	ctx := context.Background()
	repo := func(t *testing.T, cred auth.Credential) *orasremote.Repository {
		r, err := orasremote.NewRepository(addr + "/charts/demo")
		if err != nil {
			t.Fatal(err)
		}
		r.Client = &auth.Client{Client: &http.Client{Transport: retry.NewTransport(tr)}, Credential: auth.StaticCredential(addr, cred)}
		return r
	}
	good := repo(t, auth.Credential{Username: user, Password: password})
	config, _ := json.Marshal(map[string]string{"apiVersion": "v2", "name": "demo", "version": "0.1.0"})
	chart := []byte("\x1f\x8b stand-in chart archive")
	configDesc := content.NewDescriptorFromBytes("application/vnd.cncf.helm.config.v1+json", config)
	chartDesc := content.NewDescriptorFromBytes("application/vnd.cncf.helm.chart.content.v1.tar+gzip", chart)
	for _, b := range []struct {
		d    ocispec.Descriptor
		data []byte
	}{{configDesc, config}, {chartDesc, chart}} {
		if err := good.Push(ctx, b.d, strings.NewReader(string(b.data))); err != nil {
			t.Fatalf("push blob %s: %v", b.d.MediaType, err)
		}
	}
	manifest, err := oras.PackManifest(ctx, good, oras.PackManifestVersion1_1, "", oras.PackManifestOptions{ConfigDescriptor: &configDesc, Layers: []ocispec.Descriptor{chartDesc}})
	if err != nil {
		t.Fatalf("push the chart's manifest: %v", err)
	}
	if err := good.Tag(ctx, manifest, "0.1.0"); err != nil {
		t.Fatalf("tag: %v", err)
	}

	desc, rc, err := good.FetchReference(ctx, "0.1.0")
	if err != nil {
		t.Fatalf("pull with credentials: %v", err)
	}
	raw, _ := io.ReadAll(rc)
	rc.Close()
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil || desc.Digest != manifest.Digest || len(m.Layers) != 1 || m.Layers[0].Digest != chartDesc.Digest {
		t.Fatalf("pulled manifest %s %s: %v", desc.Digest, raw, err)
	}
	got, err := content.FetchAll(ctx, good, m.Layers[0])
	if err != nil || string(got) != string(chart) {
		t.Fatalf("pulled chart %q: %v", got, err)
	}
	var tags []string
	if err := good.Tags(ctx, "", func(ts []string) error { tags = append(tags, ts...); return nil }); err != nil || strings.Join(tags, ",") != "0.1.0" {
		t.Errorf("tags = %v, %v", tags, err)
	}

	for what, cred := range map[string]auth.Credential{"no credentials": auth.EmptyCredential, "wrong password": {Username: user, Password: "x"}} {
		bad := repo(t, cred)
		if _, _, err := bad.FetchReference(ctx, "0.1.0"); !orasUnauthorized(err) {
			t.Errorf("pull with %s: %v, want 401", what, err)
		}
		if err := bad.Tag(ctx, manifest, "9.9.9"); !orasUnauthorized(err) {
			t.Errorf("tag with %s: %v, want 401", what, err)
		}
		if err := bad.Delete(ctx, manifest); !orasUnauthorized(err) {
			t.Errorf("delete with %s: %v, want 401", what, err)
		}
	}
}

func TestFlagsAreChecked(t *testing.T) {
	_, err := parse([]string{"--listen=0.0.0.0:5443", "--username=a:b"})
	if err == nil {
		t.Fatal("bad flags were accepted")
	}
	for _, want := range []string{"--listen", "--cert-dir is required", "--password-file is required", "--username \"a:b\""} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	for _, listen := range []string{"192.0.2.1:5443", "localhost:5443", ":5443"} {
		if _, err := parse([]string{"--listen=" + listen, "--cert-dir=d", "--username=u", "--password-file=p"}); err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("--listen=%s: %v, want refused", listen, err)
		}
	}
}

func TestCertificatesAreKeptWhileValid(t *testing.T) {
	dir := t.TempDir()
	ip := net.ParseIP("127.0.0.1")
	if _, err := EnsureCertificates(dir, ip); err != nil {
		t.Fatal(err)
	}
	ca, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
	if _, err := EnsureCertificates(dir, ip); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "ca.crt")); string(again) != string(ca) {
		t.Error("a valid CA was replaced")
	}
	if _, err := EnsureCertificates(dir, net.ParseIP("127.0.0.2")); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "ca.crt")); string(again) == string(ca) {
		t.Error("a certificate for another address was kept")
	}
	if info, _ := os.Stat(filepath.Join(dir, "tls.key")); info.Mode().Perm() != 0o600 {
		t.Errorf("tls.key mode %v, want 0600", info.Mode().Perm())
	}
}

func unauthorized(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusUnauthorized
}

// orasUnauthorized reports a 401: as the registry's answer, or, without credentials, as oras'
// refusal to answer the registry's Basic challenge.
func orasUnauthorized(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "basic credential not found"))
}
