// Package helmtest builds Helm charts and serves them from an HTTP chart repository on
// loopback, for tests, with Helm's own libraries.
package helmtest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	repo "helm.sh/helm/v4/pkg/repo/v1"
	"sigs.k8s.io/yaml"
)

// Package builds the archive of chart name at version from files (paths relative to the
// chart, such as "templates/configmap.yaml"); Chart.yaml is written unless files has one.
func Package(t testing.TB, name, version string, files map[string]string) []byte {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	if _, ok := files["Chart.yaml"]; !ok {
		files = with(files, "Chart.yaml", "apiVersion: v2\nname: "+name+"\nversion: "+version+"\n")
	}
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		must(t, os.MkdirAll(filepath.Dir(full), 0o755))
		must(t, os.WriteFile(full, []byte(content), 0o644))
	}
	ch, err := loader.LoadDir(dir)
	must(t, err)
	out, err := chartutil.Save(ch, t.TempDir())
	must(t, err)
	data, err := os.ReadFile(out)
	must(t, err)
	return data
}

func with(files map[string]string, k, v string) map[string]string {
	out := map[string]string{k: v}
	for fk, fv := range files {
		out[fk] = fv
	}
	return out
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Repository is an HTTP chart repository: index.yaml and the archives it lists.
type Repository struct {
	// Server listens on 127.0.0.1.
	Server *httptest.Server

	mu                 sync.Mutex
	index              *repo.IndexFile
	archives           map[string][]byte
	username, password string
	downloads          int
}

// NewRepository starts an empty repository, stopped when the test ends.
func NewRepository(t testing.TB) *Repository {
	r := &Repository{index: repo.NewIndexFile(), archives: map[string][]byte{}}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Server.Close)
	return r
}

// URL is the repository's URL, for repoUrl.
func (r *Repository) URL() string { return r.Server.URL + "/charts" }

// RequireBasicAuth makes every request need these credentials.
func (r *Repository) RequireBasicAuth(username, password string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.username, r.password = username, password
}

// Add packages a chart and lists it in the index.
func (r *Repository) Add(t testing.TB, name, version string, files map[string]string) {
	t.Helper()
	data := Package(t, name, version, files)
	sum := sha256.Sum256(data)
	file := name + "-" + version + ".tgz"
	r.mu.Lock()
	defer r.mu.Unlock()
	r.archives[file] = data
	must(t, r.index.MustAdd(&chart.Metadata{APIVersion: chart.APIVersionV2, Name: name, Version: version}, file, "", hex.EncodeToString(sum[:])))
	r.index.SortEntries()
}

// Downloads counts the archives served so far.
func (r *Repository) Downloads() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.downloads
}

func (r *Repository) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.username != "" {
		u, p, ok := req.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u+":"+p), []byte(r.username+":"+r.password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="charts"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
	}
	file, ok := strings.CutPrefix(req.URL.Path, "/charts/")
	switch {
	case !ok:
		http.NotFound(w, req)
	case file == "index.yaml":
		data, err := yaml.Marshal(r.index)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/x-yaml")
		_, _ = w.Write(data)
	case r.archives[file] != nil:
		r.downloads++
		w.Header().Set("Content-Type", "application/gzip")
		_, _ = w.Write(r.archives[file])
	default:
		http.NotFound(w, req)
	}
}
