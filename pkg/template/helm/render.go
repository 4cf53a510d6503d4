// Package helm renders the Helm chart of a Template into objects, as `helm template` does,
// with Helm's own libraries: it resolves the chart in an HTTP chart repository (index.yaml)
// or an OCI registry, downloads it with the Template's credentials, keeps archives in a
// bounded cache, and renders it with the instance's values. Nothing is installed: the
// objects go to the same apply path as a Template's manifests.
package helm

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/singleflight"
	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	chart "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartv2util "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	release "helm.sh/helm/v4/pkg/release/v1"
	releaseutil "helm.sh/helm/v4/pkg/release/v1/util"
	"helm.sh/helm/v4/pkg/strvals"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/template"
)

// Options configure a Renderer.
type Options struct {
	// CacheSize bounds the archives kept in memory, in bytes; 0 keeps none.
	CacheSize int64
	// Timeout bounds each download.
	Timeout time.Duration
	// Transport, when set, carries every request (tests use it to trust their servers).
	Transport *http.Transport
}

// Renderer renders charts. It is safe for concurrent use.
type Renderer struct {
	opts     Options
	cache    *Cache
	inflight singleflight.Group
}

// NewRenderer returns a Renderer with its own cache.
func NewRenderer(opts Options) *Renderer {
	if opts.Timeout <= 0 {
		opts.Timeout = time.Minute
	}
	return &Renderer{opts: opts, cache: NewCache(opts.CacheSize)}
}

// Cache is the renderer's archive cache.
func (r *Renderer) Cache() *Cache { return r.cache }

// SetValue is one name=value pair, as helm --set (or --set-string when ForceString).
type SetValue struct {
	Name        string
	Value       string
	ForceString bool
}

// Release is what a chart is rendered for.
type Release struct {
	// Name is the release name; empty means Template.
	Name string
	// Template is the name of the Template the chart belongs to.
	Template string
	// Namespace is the instance's namespace, .Release.Namespace.
	Namespace string
	// Values are the chart values, parameters already substituted.
	Values map[string]any
	// SetValues are applied over Values in order, with helm --set syntax.
	SetValues []SetValue
}

// ReleaseName is the release name a chart is rendered with.
func (rel Release) ReleaseName() string {
	if rel.Name != "" {
		return rel.Name
	}
	return rel.Template
}

// Render downloads the chart (or takes it from the cache) and renders it. The objects come
// in Helm's install order: CRDs, then the templates; hooks are kept as ordinary objects,
// except test hooks, which are left out. Errors are *template.Error with a reason.
func (r *Renderer) Render(ctx context.Context, src Source, rel Release) ([]*unstructured.Unstructured, error) {
	name := rel.ReleaseName()
	if err := chartv2util.ValidateReleaseName(name); err != nil {
		return nil, errorf(ReasonValuesInvalid, fieldRelease, "release name %q: %v", name, err)
	}
	values, err := mergeValues(rel.Values, rel.SetValues)
	if err != nil {
		return nil, err
	}
	archive, err := r.fetch(ctx, src)
	if err != nil {
		return nil, err
	}
	ch, err := loader.LoadArchive(bytes.NewReader(archive))
	if err != nil {
		return nil, errorf(ReasonChartInvalid, fieldChart, "%s: %v", src, err)
	}
	caps := common.DefaultCapabilities // as helm template: no cluster is asked
	if ch.Metadata.KubeVersion != "" && !chartv2util.IsCompatibleRange(ch.Metadata.KubeVersion, caps.KubeVersion.String()) {
		return nil, errorf(ReasonChartInvalid, fieldChart, "%s requires Kubernetes %s, not %s", src, ch.Metadata.KubeVersion, caps.KubeVersion.String())
	}
	if err := chartv2util.ProcessDependencies(ch, values); err != nil {
		return nil, errorf(ReasonChartInvalid, fieldChart, "%s: dependencies: %v", src, err)
	}
	top, err := chartutil.ToRenderValuesWithSchemaValidation(ch, values,
		common.ReleaseOptions{Name: name, Namespace: rel.Namespace, Revision: 1, IsInstall: true}, caps, false)
	if err != nil {
		return nil, errorf(ReasonValuesInvalid, fieldValues, "%v", err)
	}
	files, err := engine.Engine{}.RenderWithContext(ctx, ch, top)
	if err != nil {
		return nil, errorf(ReasonChartRenderFailed, fieldChart, "%s: %v", src, err)
	}
	return objects(ch, files)
}

// mergeValues applies setValues over values, in order.
func mergeValues(values map[string]any, set []SetValue) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range values {
		out[k] = v
	}
	for i, sv := range set {
		parse := strvals.ParseInto
		if sv.ForceString {
			parse = strvals.ParseIntoString
		}
		if err := parse(sv.Name+"="+sv.Value, out); err != nil {
			return nil, errorf(ReasonValuesInvalid, fmt.Sprintf("%s[%d]", fieldSetValues, i), "%v", err)
		}
	}
	return out, nil
}

// objects parses what the chart rendered, in install order, within the size bound of a
// Template.
func objects(ch *chart.Chart, files map[string]string) ([]*unstructured.Unstructured, error) {
	for name := range files {
		if strings.HasSuffix(name, "NOTES.txt") {
			delete(files, name)
		}
	}
	hooks, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return nil, errorf(ReasonChartRenderFailed, fieldChart, "%v", err)
	}
	type doc struct{ source, content string }
	var docs []doc
	crds := ch.CRDObjects()
	sort.Slice(crds, func(i, j int) bool { return crds[i].Filename < crds[j].Filename })
	for _, crd := range crds {
		docs = append(docs, doc{crd.Filename, string(crd.File.Data)})
	}
	pre, post := splitHooks(hooks)
	for _, h := range pre {
		docs = append(docs, doc{h.Path, h.Manifest})
	}
	for _, m := range manifests {
		docs = append(docs, doc{m.Name, m.Content})
	}
	for _, h := range post {
		docs = append(docs, doc{h.Path, h.Manifest})
	}
	var out []*unstructured.Unstructured
	size := 0
	for _, d := range docs {
		if size += len(d.content); size > template.MaxRenderedSize {
			return nil, errorf(template.ReasonLimitExceeded, fieldChart, "the chart renders to more than %d bytes", template.MaxRenderedSize)
		}
		objs, err := template.Objects([]byte(d.content), fieldChart+"("+path.Clean(d.source)+")")
		if err != nil {
			return nil, err
		}
		out = append(out, objs...)
	}
	return out, nil
}

// splitHooks leaves out test hooks and splits the others into those that run before the
// templates are installed and the rest.
func splitHooks(hooks []*release.Hook) (pre, post []*release.Hook) {
	for _, h := range hooks {
		isPre, isTest := false, false
		for _, e := range h.Events {
			switch e {
			case release.HookTest:
				isTest = true
			case release.HookPreInstall:
				isPre = true
			}
		}
		switch {
		case isTest:
		case isPre:
			pre = append(pre, h)
		default:
			post = append(post, h)
		}
	}
	return pre, post
}
