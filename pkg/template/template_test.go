package template

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var ctx = Context{
	Namespace: "team-a", Account: "red",
	NamespaceLabels:    map[string]string{"tier": "gold"},
	AccountAnnotations: map[string]string{"owner": "ops@example.com"},
}

func reasonOf(t *testing.T, err error) string {
	t.Helper()
	var e *Error
	require.True(t, errors.As(err, &e), "not a template error: %v", err)
	return e.Reason
}

func TestSubstituteString(t *testing.T) {
	v, err := Resolve("t", []Parameter{{Name: "NAME", Value: "web"}, {Name: "EVIL", Value: "${NAME}"}}, nil, ctx)
	require.NoError(t, err)
	tests := []struct {
		in, want string
		reason   string
	}{
		{"plain", "plain", ""},
		{"${NAME}", "web", ""},
		{"app-${NAME}-${NAMESPACE}", "app-web-team-a", ""},
		{"${namespace}/${Account}", "team-a/red", ""},
		{"${namespace.metadata.labels.tier}", "gold", ""},
		{"${Namespace.Metadata.Labels.tier}", "gold", ""},
		{"${namespace.metadata.labels.missing}", "", ""},
		{"${account.metadata.annotations.owner}", "ops@example.com", ""},
		{"$${NAME}", "${NAME}", ""},
		{"$$${NAME}", "$${NAME}", ""},
		{"${EVIL}", "${NAME}", ""}, // values are never expanded again
		{"${{NAME}} inside", "web inside", ""},
		{"unterminated ${NAME", "unterminated ${NAME", ""},
		{"$", "$", ""},
		{"${UNKNOWN}", "", ReasonUnknownReference},
		{"${}", "", ReasonUnknownReference},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := v.SubstituteString(tt.in)
			if tt.reason != "" {
				assert.Equal(t, tt.reason, reasonOf(t, err))
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestResolve(t *testing.T) {
	params := []Parameter{
		{Name: "SIZE", Value: "1", Validation: "^[0-9]+$"},
		{Name: "OWNER", Required: true},
	}
	tests := []struct {
		name   string
		params []Parameter
		given  []Value
		reason string
		field  string
	}{
		{"ok", params, []Value{{"OWNER", "me"}, {"SIZE", "3"}}, "", ""},
		{"undeclared", params, []Value{{"OWNER", "me"}, {"COLOR", "red"}}, ReasonParameterNotDeclared, "spec.parameters[1].name"},
		{"required", params, nil, ReasonParameterRequired, "parameters[1]"},
		{"required empty", params, []Value{{"OWNER", ""}}, ReasonParameterRequired, "parameters[1]"},
		{"bad value", params, []Value{{"OWNER", "me"}, {"SIZE", "3x"}}, ReasonParameterInvalid, "parameters[0]"},
		{"bad regexp", []Parameter{{Name: "X", Validation: "("}}, nil, ReasonParameterInvalid, "parameters[0].validation"},
		{"huge regexp", []Parameter{{Name: "X", Validation: strings.Repeat("a", MaxPatternLength+1)}}, nil, ReasonLimitExceeded, "parameters[0].validation"},
		{"huge value", []Parameter{{Name: "X"}}, []Value{{"X", strings.Repeat("a", MaxValueLength+1)}}, ReasonLimitExceeded, "parameters[0].value"},
		{"no name", []Parameter{{Name: ""}}, nil, ReasonParameterInvalid, "parameters[0].name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Resolve("tpl", tt.params, tt.given, ctx)
			if tt.reason == "" {
				require.NoError(t, err)
				return
			}
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.reason, e.Reason)
			assert.Equal(t, tt.field, e.Field)
		})
	}
	_, err := Resolve("tpl", params, []Value{{"OWNER", "me"}, {"COLOR", "red"}}, ctx)
	assert.Contains(t, err.Error(), "parameter COLOR does not exist in template tpl")
}

// The LimitRange Template of the walkthrough renders unchanged.
func TestRenderWalkthroughTemplate(t *testing.T) {
	manifest := []byte(`{"apiVersion":"v1","kind":"LimitRange","metadata":{"name":"container-limit-range"},
"spec":{"limits":[{"default":{"cpu":1},"defaultRequest":{"cpu":0.5},"type":"Container"}]}}`)
	objs, err := render("space-template", [][]byte{manifest}, nil, nil, ctx)
	require.NoError(t, err)
	require.Len(t, objs, 1)
	assert.Equal(t, "LimitRange", objs[0].GetKind())
	limits, _, _ := unstructured.NestedSlice(objs[0].Object, "spec", "limits")
	assert.Equal(t, map[string]any{"cpu": int64(1)}, limits[0].(map[string]any)["default"])
	assert.Equal(t, map[string]any{"cpu": 0.5}, limits[0].(map[string]any)["defaultRequest"])
}

func TestRenderTypedValuesAndDocuments(t *testing.T) {
	manifest := []byte(`apiVersion: v1
kind: ResourceQuota
metadata:
  name: quota-${NAMESPACE}
  labels:
    ${LABEL}: "yes"
spec:
  hard: ${{HARD}}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  replicas: "${{REPLICAS}}"
  literal: "$${REPLICAS}"
`)
	params := []Parameter{{Name: "HARD", Value: "{pods: 10, requests.cpu: '4'}"}, {Name: "REPLICAS", Value: "3"}, {Name: "LABEL", Value: "team"}}
	objs, err := render("t", [][]byte{manifest}, params, nil, ctx)
	require.NoError(t, err)
	require.Len(t, objs, 2)
	assert.Equal(t, "quota-team-a", objs[0].GetName())
	assert.Equal(t, map[string]string{"team": "yes"}, objs[0].GetLabels())
	hard, _, _ := unstructured.NestedMap(objs[0].Object, "spec", "hard")
	assert.Equal(t, map[string]any{"pods": int64(10), "requests.cpu": "4"}, hard)
	data, _, _ := unstructured.NestedMap(objs[1].Object, "data")
	assert.Equal(t, int64(3), data["replicas"], "a whole ${{X}} becomes typed")
	assert.Equal(t, "${REPLICAS}", data["literal"])
}

func TestRenderErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name     string
		manifest string
		reason   string
		field    string
	}{
		{"no name", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}`, ReasonManifestInvalid, "resources.manifests[0].metadata.name"},
		{"no kind", `{"apiVersion":"v1","metadata":{"name":"x"}}`, ReasonManifestInvalid, "resources.manifests[0].kind"},
		{"no apiVersion", `{"kind":"ConfigMap","metadata":{"name":"x"}}`, ReasonManifestInvalid, "resources.manifests[0].apiVersion"},
		{"not an object", `[1,2]`, ReasonManifestInvalid, "resources.manifests[0]"},
		{"unknown reference", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"a":"${NOPE}"}}`, ReasonUnknownReference, "resources.manifests[0].data.a"},
		{"deep", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":` + strings.Repeat(`{"a":`, MaxDepth+2) + `1` + strings.Repeat(`}`, MaxDepth+2) + `}`, ReasonLimitExceeded, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render("t", [][]byte{[]byte(tt.manifest)}, nil, nil, ctx)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.reason, e.Reason)
			if tt.field != "" {
				assert.Equal(t, tt.field, e.Field)
			}
		})
	}
	huge := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"},"data":{"a":"${BIG}${BIG}${BIG}${BIG}${BIG}${BIG}${BIG}${BIG}"}}`
	manifests := make([][]byte, 10)
	for i := range manifests {
		manifests[i] = []byte(huge)
	}
	_, err := render("t", manifests, []Parameter{{Name: "BIG", Value: strings.Repeat("x", MaxValueLength)}}, nil, ctx)
	assert.Equal(t, ReasonLimitExceeded, reasonOf(t, err), "references multiply a value up to the rendered-size bound")
}

func TestPlace(t *testing.T) {
	namespaced := func(gvk schema.GroupVersionKind) (bool, error) {
		switch gvk.Kind {
		case "ClusterRole":
			return false, nil
		case "Widget":
			return false, errors.New(`no matches for kind "Widget"`)
		}
		return true, nil
	}
	obj := func(kind, ns string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion("v1")
		u.SetKind(kind)
		u.SetName("x")
		u.SetNamespace(ns)
		return u
	}
	objs := []*unstructured.Unstructured{obj("ConfigMap", ""), obj("Secret", "team-a")}
	require.NoError(t, Place(objs, "team-a", false, namespaced))
	assert.Equal(t, "team-a", objs[0].GetNamespace())

	assert.Equal(t, ReasonNamespaceMismatch, reasonOf(t, Place([]*unstructured.Unstructured{obj("Secret", "kube-system")}, "team-a", true, namespaced)))
	assert.Equal(t, ReasonClusterScopedNotAllowed, reasonOf(t, Place([]*unstructured.Unstructured{obj("ClusterRole", "")}, "team-a", false, namespaced)))
	assert.Equal(t, ReasonResourceKindNotSupported, reasonOf(t, Place([]*unstructured.Unstructured{obj("Widget", "")}, "team-a", false, namespaced)))
	cluster := []*unstructured.Unstructured{obj("ClusterRole", "team-a")}
	require.NoError(t, Place(cluster, "team-a", true, namespaced))
	assert.Empty(t, cluster[0].GetNamespace())
}

func FuzzSubstituteString(f *testing.F) {
	for _, seed := range []string{"", "${A}", "$${A}", "${{A}}", "x${A}y${B}z", "${", "$${{", "${{A}", "}}${A}}", "${A${B}}", "$$$$${A}"} {
		f.Add(seed, "value")
		f.Add(seed, "${B}")
	}
	f.Fuzz(func(t *testing.T, s, value string) {
		v, err := Resolve("t", []Parameter{{Name: "A", Value: value}, {Name: "B", Value: "b"}}, nil, ctx)
		if err != nil {
			return
		}
		out, err := v.SubstituteString(s)
		if err != nil {
			return
		}
		if !strings.Contains(s, "${") && out != s {
			t.Fatalf("%q changed to %q without any reference", s, out)
		}
		if len(out) > len(s)*(len(value)+len("ctx")+16)+len(s) {
			t.Fatalf("%q grew to %d bytes", s, len(out))
		}
	})
}

func FuzzRender(f *testing.F) {
	f.Add(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"${A}"},"data":{"k":"${{A}}"}}`, "x")
	f.Add("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n", "[1, {a: b}]")
	f.Add(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"},"data":{"${A}":"$${A}"}}`, "{")
	f.Fuzz(func(t *testing.T, manifest, value string) {
		objs, err := render("t", [][]byte{[]byte(manifest)}, []Parameter{{Name: "A", Value: value}}, nil, ctx)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Reason == "" {
				t.Fatalf("error without a reason: %v", err)
			}
			return
		}
		for _, o := range objs {
			if o.GetName() == "" || o.GetKind() == "" || o.GetAPIVersion() == "" {
				t.Fatalf("rendered an incomplete object: %v", o.Object)
			}
		}
	})
}

func TestSubstituteYAML(t *testing.T) {
	v, err := Resolve("t", []Parameter{{Name: "PODS", Value: "4"}, {Name: "TAGS", Value: "[a, b]"}}, nil, ctx)
	require.NoError(t, err)
	got, err := v.SubstituteYAML("team: ${ACCOUNT}\nquota:\n  pods: ${{PODS}}\ntags: ${{TAGS}}\nliteral: $${PODS}\n", "resources.helm.values")
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"team": "red", "quota": map[string]any{"pods": int64(4)}, "tags": []any{"a", "b"}, "literal": "${PODS}"}, got)

	empty, err := v.SubstituteYAML("", "resources.helm.values")
	require.NoError(t, err)
	assert.Empty(t, empty)

	for text, reason := range map[string]string{
		"- a list":      ReasonManifestInvalid,
		"a: [":          ReasonManifestInvalid,
		"a: ${MISSING}": ReasonUnknownReference,
	} {
		_, err := v.SubstituteYAML(text, "resources.helm.values")
		var e *Error
		require.ErrorAs(t, err, &e, text)
		assert.Equal(t, reason, e.Reason, text)
		assert.Contains(t, e.Field, "resources.helm.values", text)
	}
}

// render resolves the parameters and substitutes them into the manifests, as the
// TemplateInstance controller does.
func render(templateName string, manifests [][]byte, params []Parameter, given []Value, ctx Context) ([]*unstructured.Unstructured, error) {
	values, err := Resolve(templateName, params, given, ctx)
	if err != nil {
		return nil, err
	}
	return values.Render(manifests)
}
