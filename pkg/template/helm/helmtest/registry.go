package helmtest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Media types of a Helm chart in an OCI registry.
const (
	manifestMediaType = "application/vnd.oci.image.manifest.v1+json"
	configMediaType   = "application/vnd.cncf.helm.config.v1+json"
	chartMediaType    = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
)

// Registry is an OCI registry over TLS that serves pulls of Helm charts: manifests, blobs and
// tag lists.
type Registry struct {
	// Server listens on 127.0.0.1; its Client trusts it.
	Server *httptest.Server

	mu                 sync.Mutex
	manifests          map[string][]byte // "repository:tag" and "repository@digest"
	blobs              map[string][]byte
	tags               map[string][]string
	username, password string
	pulls              int
}

// NewRegistry starts an empty registry, stopped when the test ends.
func NewRegistry(t testing.TB) *Registry {
	r := &Registry{manifests: map[string][]byte{}, blobs: map[string][]byte{}, tags: map[string][]string{}}
	r.Server = httptest.NewTLSServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Server.Close)
	return r
}

// Transport trusts the registry's certificate.
func (r *Registry) Transport() *http.Transport { return r.Server.Client().Transport.(*http.Transport) }

// Reference is the oci:// reference of a repository in the registry.
func (r *Registry) Reference(repository string) string {
	return "oci://" + strings.TrimPrefix(r.Server.URL, "https://") + "/" + repository
}

// RequireBasicAuth makes every request need these credentials.
func (r *Registry) RequireBasicAuth(username, password string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.username, r.password = username, password
}

// Pulls counts the chart archives served so far.
func (r *Registry) Pulls() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pulls
}

func digest(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int    `json:"size"`
}

// Push packages a chart and stores it in repository, tagged with its version.
func (r *Registry) Push(t testing.TB, repository, name, version string, files map[string]string) {
	t.Helper()
	archive := Package(t, name, version, files)
	config, err := json.Marshal(map[string]string{"apiVersion": "v2", "name": name, "version": version})
	must(t, err)
	manifest, err := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": manifestMediaType,
		"config": descriptor{configMediaType, digest(config), len(config)},
		"layers": []descriptor{{chartMediaType, digest(archive), len(archive)}},
	})
	must(t, err)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.blobs[digest(config)], r.blobs[digest(archive)] = config, archive
	r.manifests[repository+":"+version], r.manifests[repository+"@"+digest(manifest)] = manifest, manifest
	r.tags[repository] = append(r.tags[repository], version)
}

func (r *Registry) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.username != "" {
		u, p, ok := req.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u+":"+p), []byte(r.username+":"+r.password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="registry"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
			return
		}
	}
	p := strings.TrimPrefix(req.URL.Path, "/v2/")
	var data []byte
	mediaType := "application/octet-stream"
	switch {
	case p == "":
		data = []byte("{}")
	case strings.HasSuffix(p, "/tags/list"):
		repository := strings.TrimSuffix(p, "/tags/list")
		data, _ = json.Marshal(map[string]any{"name": repository, "tags": r.tags[repository]})
		mediaType = "application/json"
	case strings.Contains(p, "/manifests/"):
		repository, ref, _ := strings.Cut(p, "/manifests/")
		sep := ":"
		if strings.HasPrefix(ref, "sha256:") {
			sep = "@"
		}
		data, mediaType = r.manifests[repository+sep+ref], manifestMediaType
	case strings.Contains(p, "/blobs/"):
		_, d, _ := strings.Cut(p, "/blobs/")
		data = r.blobs[d]
		if data != nil && !strings.Contains(string(data), `"apiVersion"`) && req.Method == http.MethodGet {
			r.pulls++
		}
	}
	if data == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"errors":[{"code":"NAME_UNKNOWN","message":"not found"}]}`))
		return
	}
	w.Header().Set("Content-Type", mediaType)
	w.Header().Set("Docker-Content-Digest", digest(data))
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	if req.Method != http.MethodHead {
		_, _ = w.Write(data)
	}
}
