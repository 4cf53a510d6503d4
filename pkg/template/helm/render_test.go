package helm

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/template"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/template/helm/helmtest"
)

// webChart renders its values into a ConfigMap, with the Go type of each, so that a test
// sees what a chart sees.
var webChart = map[string]string{
	"values.yaml":            "team: nobody\nreplicas: 1\nversion: \"1.0\"\n",
	"templates/_helpers.tpl": `{{- define "web.name" -}}{{ .Release.Name }}-web{{- end -}}`,
	"templates/configmap.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "web.name" . }}
  namespace: {{ .Release.Namespace }}
data:
  team: {{ .Values.team | quote }}
  replicas: {{ .Values.replicas | quote }}
  replicasKind: {{ kindOf .Values.replicas | quote }}
  version: {{ .Values.version | quote }}
  versionKind: {{ kindOf .Values.version | quote }}
`,
	"templates/hook.yaml": `apiVersion: v1
kind: ServiceAccount
metadata:
  name: setup
  annotations:
    helm.sh/hook: pre-install
`,
	"templates/tests/test.yaml": `apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-test
  annotations:
    helm.sh/hook: test
spec:
  containers: [{name: t, image: busybox}]
`,
	"templates/NOTES.txt": "Thank you for installing {{ .Chart.Name }}.\n",
}

func reasonOf(t *testing.T, err error) string {
	t.Helper()
	var e *template.Error
	require.True(t, errors.As(err, &e), "not a template error: %v", err)
	return e.Reason
}

func configMap(t *testing.T, objs []*unstructured.Unstructured) map[string]string {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == "ConfigMap" {
			data, _, _ := unstructured.NestedStringMap(o.Object, "data")
			return data
		}
	}
	t.Fatalf("no ConfigMap among %d objects", len(objs))
	return nil
}

func TestRenderWithParametersInValues(t *testing.T) {
	repository := helmtest.NewRepository(t)
	repository.Add(t, "web", "1.0.0", webChart)
	values, err := template.Resolve("guard-rails",
		[]template.Parameter{{Name: "TEAM", Required: true}, {Name: "REPLICAS", Value: "3"}},
		[]template.Value{{Name: "TEAM", Value: "red"}}, template.Context{Namespace: "team-a"})
	require.NoError(t, err)
	chartValues, err := values.SubstituteYAML("team: ${TEAM}-${NAMESPACE}\nreplicas: ${{REPLICAS}}\n", "resources.helm.values")
	require.NoError(t, err)

	r := NewRenderer(Options{CacheSize: 1 << 20})
	objs, err := r.Render(context.Background(), Source{RepoURL: repository.URL(), Name: "web", Version: "1.0.0"},
		Release{Template: "guard-rails", Namespace: "team-a", Values: chartValues})
	require.NoError(t, err)

	var names []string
	for _, o := range objs {
		names = append(names, o.GetKind()+"/"+o.GetName())
	}
	assert.Equal(t, []string{"ServiceAccount/setup", "ConfigMap/guard-rails-web"}, names,
		"pre-install hooks first, the release name defaults to the Template name, no test hook, no NOTES")
	assert.Equal(t, "team-a", objs[1].GetNamespace())
	data := configMap(t, objs)
	assert.Equal(t, "red-team-a", data["team"])
	assert.Equal(t, "3", data["replicas"])
	assert.Equal(t, "int64", data["replicasKind"], "${{REPLICAS}} is a number to the chart")
	assert.Equal(t, "1.0", data["version"], "the chart's default")
}

func TestRenderSetValuesAndReleaseName(t *testing.T) {
	repository := helmtest.NewRepository(t)
	repository.Add(t, "web", "1.0.0", webChart)
	r := NewRenderer(Options{CacheSize: 1 << 20})
	src := Source{RepoURL: repository.URL(), Name: "web", Version: "1.0.0"}

	objs, err := r.Render(context.Background(), src, Release{Name: "shop", Template: "t", Namespace: "ns",
		Values: map[string]any{"team": "blue", "version": "2.0"},
		SetValues: []SetValue{
			{Name: "replicas", Value: "5"},
			{Name: "version", Value: "1234", ForceString: true},
			{Name: "team", Value: "green"},
		}})
	require.NoError(t, err)
	assert.Equal(t, "shop-web", objs[1].GetName())
	data := configMap(t, objs)
	assert.Equal(t, "green", data["team"], "setValues win over values")
	assert.Equal(t, "int64", data["replicasKind"])
	assert.Equal(t, "1234", data["version"])
	assert.Equal(t, "string", data["versionKind"], "forceString keeps 1234 a string")

	objs, err = r.Render(context.Background(), src, Release{Template: "t", Namespace: "ns",
		SetValues: []SetValue{{Name: "version", Value: "1234"}}})
	require.NoError(t, err)
	assert.Equal(t, "int64", configMap(t, objs)["versionKind"], "without forceString, 1234 is a number")

	_, err = r.Render(context.Background(), src, Release{Template: "t", SetValues: []SetValue{{Name: "list[abc]", Value: "1"}}})
	assert.Equal(t, ReasonValuesInvalid, reasonOf(t, err))
	_, err = r.Render(context.Background(), src, Release{Name: "Not_A_Release", Template: "t"})
	assert.Equal(t, ReasonValuesInvalid, reasonOf(t, err))
}

func TestRenderCache(t *testing.T) {
	repository := helmtest.NewRepository(t)
	repository.Add(t, "web", "1.0.0", webChart)
	repository.Add(t, "web", "1.1.0", webChart)
	one := int64(len(helmtest.Package(t, "web", "1.0.0", webChart)))
	r := NewRenderer(Options{CacheSize: one + one/2}) // room for one archive
	render := func(version string) {
		t.Helper()
		_, err := r.Render(context.Background(), Source{RepoURL: repository.URL(), Name: "web", Version: version}, Release{Template: "t", Namespace: "ns"})
		require.NoError(t, err)
	}
	render("1.0.0")
	render("1.0.0")
	assert.Equal(t, 1, repository.Downloads(), "the second render is a cache hit")
	assert.Equal(t, 1, r.Cache().Len())
	render("1.1.0")
	assert.Equal(t, 2, repository.Downloads())
	assert.Equal(t, 1, r.Cache().Len(), "1.0.0 was evicted to make room")
	assert.LessOrEqual(t, r.Cache().Size(), one+one/2)
	render("1.0.0")
	assert.Equal(t, 3, repository.Downloads(), "an evicted chart is downloaded again")
	render("^1.0")
	assert.Equal(t, 4, repository.Downloads(), "a range resolves to 1.1.0, evicted by 1.0.0")
	render(">=1.1")
	assert.Equal(t, 4, repository.Downloads(), "the same resolved version is a hit")

	off := NewRenderer(Options{})
	for range 2 {
		_, err := off.Render(context.Background(), Source{RepoURL: repository.URL(), Name: "web", Version: "1.0.0"}, Release{Template: "t"})
		require.NoError(t, err)
	}
	assert.Equal(t, 6, repository.Downloads(), "a cache of 0 bytes keeps nothing")
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	c := NewCache(10)
	c.Add("a", make([]byte, 4))
	c.Add("b", make([]byte, 4))
	_, ok := c.Get("a") // a is now the most recent
	require.True(t, ok)
	c.Add("c", make([]byte, 4))
	_, ok = c.Get("b")
	assert.False(t, ok, "b was the least recently used")
	_, ok = c.Get("a")
	assert.True(t, ok)
	c.Add("huge", make([]byte, 11))
	_, ok = c.Get("huge")
	assert.False(t, ok, "larger than the cache")
	assert.Equal(t, int64(8), c.Size())
}

func TestRenderFailures(t *testing.T) {
	repository := helmtest.NewRepository(t)
	repository.Add(t, "web", "1.0.0", webChart)
	repository.Add(t, "broken", "1.0.0", map[string]string{"templates/x.yaml": "{{ .Values.missing.field }}"})
	r := NewRenderer(Options{CacheSize: 1 << 20})
	render := func(src Source) error {
		_, err := r.Render(context.Background(), src, Release{Template: "t", Namespace: "ns"})
		return err
	}

	err := render(Source{RepoURL: repository.URL(), Name: "web", Version: "9.9.9"})
	assert.Equal(t, ReasonChartNotFound, reasonOf(t, err))
	assert.Contains(t, err.Error(), "no version 9.9.9 of chart web; it has 1.0.0")
	assert.Equal(t, ReasonChartNotFound, reasonOf(t, render(Source{RepoURL: repository.URL(), Name: "nope"})))
	assert.Equal(t, ReasonChartRenderFailed, reasonOf(t, render(Source{RepoURL: repository.URL(), Name: "broken"})))

	down := helmtest.NewRepository(t)
	down.Server.Close()
	err = render(Source{RepoURL: down.URL(), Name: "web"})
	assert.Equal(t, ReasonChartDownloadFailed, reasonOf(t, err))
	assert.True(t, Transient(ReasonChartDownloadFailed))
}

func TestRenderWithCredentials(t *testing.T) {
	repository := helmtest.NewRepository(t)
	repository.Add(t, "web", "1.0.0", webChart)
	repository.RequireBasicAuth("reader", "s3cret")
	r := NewRenderer(Options{CacheSize: 1 << 20})
	render := func(user, password string) error {
		_, err := r.Render(context.Background(), Source{RepoURL: repository.URL(), Name: "web", Version: "1.0.0", Username: user, Password: password},
			Release{Template: "t", Namespace: "ns"})
		return err
	}
	assert.Equal(t, ReasonUnauthorized, reasonOf(t, render("", "")))
	assert.Equal(t, ReasonUnauthorized, reasonOf(t, render("reader", "wrong")))
	require.NoError(t, render("reader", "s3cret"))
	assert.Equal(t, ReasonUnauthorized, reasonOf(t, render("", "")),
		"a chart downloaded with credentials is never served from the cache to a Template without them")
}

func TestRenderFromOCIRegistry(t *testing.T) {
	reg := helmtest.NewRegistry(t)
	reg.Push(t, "platform/web", "web", "1.0.0", webChart)
	reg.Push(t, "platform/web", "web", "1.2.0", webChart)
	reg.RequireBasicAuth("puller", "s3cret")
	r := NewRenderer(Options{CacheSize: 1 << 20, Transport: reg.Transport()})
	render := func(src Source) ([]*unstructured.Unstructured, error) {
		return r.Render(context.Background(), src, Release{Template: "oci", Namespace: "ns"})
	}
	objs, err := render(Source{Name: reg.Reference("platform/web"), Version: "1.0.0", Username: "puller", Password: "s3cret"})
	require.NoError(t, err)
	assert.Equal(t, "oci-web", objs[1].GetName())
	_, err = render(Source{RepoURL: reg.Reference("platform"), Name: "web", Version: "^1.0", Username: "puller", Password: "s3cret"})
	require.NoError(t, err, "repoUrl oci://host/path with a chart name, and a range over the tags")
	_, err = render(Source{Name: reg.Reference("platform/web") + ":1.2.0", Username: "puller", Password: "s3cret"})
	require.NoError(t, err, "the tag in the reference; 1.2.0 is cached by now")
	assert.Equal(t, 2, reg.Pulls())

	_, err = render(Source{Name: reg.Reference("platform/web"), Version: "1.0.0"})
	assert.Equal(t, ReasonUnauthorized, reasonOf(t, err))
	_, err = render(Source{Name: reg.Reference("platform/web"), Version: "3.0.0", Username: "puller", Password: "s3cret"})
	assert.Equal(t, ReasonChartNotFound, reasonOf(t, err))
	_, err = render(Source{Name: reg.Reference("platform/web"), Version: "^3", Username: "puller", Password: "s3cret"})
	assert.Equal(t, ReasonChartNotFound, reasonOf(t, err))
}
