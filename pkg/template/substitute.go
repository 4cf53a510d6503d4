package template

import (
	"fmt"
	"strings"

	"sigs.k8s.io/yaml"
)

// SubstituteString replaces the references in s. A reference to a name that is neither a
// parameter nor predefined is an error that names it.
func (v Values) SubstituteString(s string) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case strings.HasPrefix(s[i:], "$${"):
			b.WriteString("${")
			i += 3
		case strings.HasPrefix(s[i:], "${{"):
			end := strings.Index(s[i+3:], "}}")
			if end < 0 {
				b.WriteString(s[i:])
				return b.String(), nil
			}
			val, err := v.reference(s[i+3 : i+3+end])
			if err != nil {
				return "", err
			}
			b.WriteString(val)
			i += 3 + end + 2
		case strings.HasPrefix(s[i:], "${"):
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String(), nil
			}
			val, err := v.reference(s[i+2 : i+2+end])
			if err != nil {
				return "", err
			}
			b.WriteString(val)
			i += 2 + end + 1
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String(), nil
}

func (v Values) reference(name string) (string, error) {
	val, ok := v.lookup(name)
	if !ok {
		return "", errorf(ReasonUnknownReference, "", "unknown parameter %s", name)
	}
	return val, nil
}

// substitute returns a copy of a parsed JSON value with every reference replaced. path
// names the value in errors.
func (v Values) substitute(value any, path string, depth int) (any, error) {
	if depth > MaxDepth {
		return nil, errorf(ReasonLimitExceeded, path, "nested deeper than %d levels", MaxDepth)
	}
	switch t := value.(type) {
	case string:
		if name, whole := typedReference(t); whole {
			raw, err := v.reference(name)
			if err != nil {
				return nil, withField(err, path)
			}
			asJSON, err := yaml.YAMLToJSON([]byte(raw))
			if err != nil {
				return nil, errorf(ReasonParameterInvalid, path, "value of parameter %s is not valid YAML: %v", name, err)
			}
			typed, err := decodeJSON(asJSON)
			if err != nil {
				return nil, errorf(ReasonParameterInvalid, path, "value of parameter %s is not valid YAML: %v", name, err)
			}
			return typed, nil
		}
		out, err := v.SubstituteString(t)
		return out, withField(err, path)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			key, err := v.SubstituteString(k)
			if err != nil {
				return nil, withField(err, path)
			}
			if out[key], err = v.substitute(val, path+"."+key, depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			var err error
			if out[i], err = v.substitute(val, fmt.Sprintf("%s[%d]", path, i), depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	default:
		return value, nil
	}
}

// typedReference reports whether s is exactly "${{NAME}}", and NAME.
func typedReference(s string) (string, bool) {
	if strings.HasPrefix(s, "${{") && strings.HasSuffix(s, "}}") && len(s) > 5 {
		name := s[3 : len(s)-2]
		if !strings.ContainsAny(name, "{}") {
			return name, true
		}
	}
	return "", false
}

func withField(err error, field string) error {
	if e, ok := err.(*Error); ok && e.Field == "" {
		return &Error{Reason: e.Reason, Field: field, Message: e.Message}
	}
	return err
}
