package template

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Render substitutes the values into the manifests, each JSON or YAML, possibly several
// YAML documents. It returns every object or an error, never a part.
func (v Values) Render(manifests [][]byte) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	size := 0
	for i, raw := range manifests {
		field := fmt.Sprintf("resources.manifests[%d]", i)
		docs, err := documents(raw)
		if err != nil {
			return nil, errorf(ReasonManifestInvalid, field, "%v", err)
		}
		for j, doc := range docs {
			docField := field
			if len(docs) > 1 {
				docField = fmt.Sprintf("%s(document %d)", field, j)
			}
			rendered, err := v.substitute(doc, docField, 0)
			if err != nil {
				return nil, err
			}
			obj, err := object(rendered, docField)
			if err != nil {
				return nil, err
			}
			encoded, err := json.Marshal(obj.Object)
			if err != nil {
				return nil, errorf(ReasonManifestInvalid, docField, "%v", err)
			}
			if size += len(encoded); size > MaxRenderedSize {
				return nil, errorf(ReasonLimitExceeded, docField, "the template renders to more than %d bytes", MaxRenderedSize)
			}
			out = append(out, obj)
		}
	}
	return out, nil
}

// documents splits a manifest into its parsed documents, skipping empty ones.
func documents(raw []byte) ([]any, error) {
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	var docs []any
	for {
		var raw json.RawMessage
		err := decoder.Decode(&raw)
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		value, err := decodeJSON(raw)
		if err != nil {
			return nil, err
		}
		switch doc := value.(type) {
		case nil:
		case map[string]any:
			if len(doc) > 0 {
				docs = append(docs, doc)
			}
		default:
			return nil, fmt.Errorf("a document is a %T, not an object", value)
		}
	}
}

// decodeJSON parses JSON as Kubernetes does for unstructured objects: whole numbers become
// int64, others float64.
func decodeJSON(raw []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var value any
	if err := d.Decode(&value); err != nil {
		return nil, err
	}
	return numbers(value), nil
}

func numbers(value any) any {
	switch t := value.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	case map[string]any:
		for k, v := range t {
			t[k] = numbers(v)
		}
	case []any:
		for i, v := range t {
			t[i] = numbers(v)
		}
	}
	return value
}

func object(rendered any, field string) (*unstructured.Unstructured, error) {
	m, ok := rendered.(map[string]any)
	if !ok {
		return nil, errorf(ReasonManifestInvalid, field, "is not an object")
	}
	obj := &unstructured.Unstructured{Object: m}
	if obj.GetAPIVersion() == "" {
		return nil, errorf(ReasonManifestInvalid, field+".apiVersion", "must be set")
	}
	if _, err := schema.ParseGroupVersion(obj.GetAPIVersion()); err != nil {
		return nil, errorf(ReasonManifestInvalid, field+".apiVersion", "%v", err)
	}
	if obj.GetKind() == "" {
		return nil, errorf(ReasonManifestInvalid, field+".kind", "must be set")
	}
	if obj.GetName() == "" {
		return nil, errorf(ReasonManifestInvalid, field+".metadata.name", "must be set")
	}
	return obj, nil
}

// Place puts rendered objects in namespace. isNamespaced says whether a kind is namespaced
// (from discovery). An object that names another namespace is refused, so that a Template
// never reaches outside the Space it is instantiated in; cluster-scoped objects are refused
// unless allowClusterScoped.
func Place(objs []*unstructured.Unstructured, namespace string, allowClusterScoped bool,
	isNamespaced func(schema.GroupVersionKind) (bool, error)) error {
	for i, obj := range objs {
		field := fmt.Sprintf("objects[%d] (%s %s)", i, obj.GetKind(), obj.GetName())
		namespaced, err := isNamespaced(obj.GroupVersionKind())
		if err != nil {
			return errorf(ReasonResourceKindNotSupported, field, "%v", err)
		}
		switch {
		case !namespaced && !allowClusterScoped:
			return errorf(ReasonClusterScopedNotAllowed, field, "is cluster-scoped, and the template is not allowed to contain cluster-scoped objects")
		case !namespaced:
			obj.SetNamespace("")
		case obj.GetNamespace() != "" && obj.GetNamespace() != namespace:
			return errorf(ReasonNamespaceMismatch, field+".metadata.namespace", "is %q, but the template is instantiated in %q", obj.GetNamespace(), namespace)
		default:
			obj.SetNamespace(namespace)
		}
	}
	return nil
}

// SubstituteYAML parses a YAML map, such as a chart's values, and substitutes the values into
// it as into a manifest: ${NAME} inside strings, ${{NAME}} for a whole typed value. field names
// the text in errors. An empty text is an empty map.
func (v Values) SubstituteYAML(text, field string) (map[string]any, error) {
	if len(text) > MaxRenderedSize {
		return nil, errorf(ReasonLimitExceeded, field, "is longer than %d bytes", MaxRenderedSize)
	}
	asJSON, err := yaml.YAMLToJSON([]byte(text))
	if err != nil {
		return nil, errorf(ReasonManifestInvalid, field, "is not valid YAML: %v", err)
	}
	parsed, err := decodeJSON(asJSON)
	if err != nil {
		return nil, errorf(ReasonManifestInvalid, field, "is not valid YAML: %v", err)
	}
	switch parsed.(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
	default:
		return nil, errorf(ReasonManifestInvalid, field, "is a %T, not a map", parsed)
	}
	out, err := v.substitute(parsed, field, 0)
	if err != nil {
		return nil, err
	}
	return out.(map[string]any), nil
}

// Objects parses YAML or JSON documents, such as a chart's rendered templates, into objects,
// without substitution. field names the text in errors.
func Objects(raw []byte, field string) ([]*unstructured.Unstructured, error) {
	docs, err := documents(raw)
	if err != nil {
		return nil, errorf(ReasonManifestInvalid, field, "%v", err)
	}
	out := make([]*unstructured.Unstructured, 0, len(docs))
	for _, doc := range docs {
		obj, err := object(doc, field)
		if err != nil {
			return nil, err
		}
		out = append(out, obj)
	}
	return out, nil
}
