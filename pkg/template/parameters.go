package template

import (
	"fmt"
	"regexp"
	"strings"
)

// Limits bound what a Template may make the server do.
const (
	// MaxValueLength is the longest parameter value, in bytes.
	MaxValueLength = 64 << 10
	// MaxPatternLength is the longest validation regexp.
	MaxPatternLength = 1024
	// MaxRenderedSize is the most a Template may render to, in bytes of JSON.
	MaxRenderedSize = 4 << 20
	// MaxDepth is the deepest nesting of objects and lists in a manifest.
	MaxDepth = 64
)

// Parameter is a parameter a Template declares.
type Parameter struct {
	Name string
	// Value is the default.
	Value string
	// Required means the parameter must end up with a non-empty value.
	Required bool
	// Validation is a regular expression the value must match; anchor it with ^ and $ to
	// constrain the whole value.
	Validation string
}

// Value is a value a TemplateInstance gives a parameter.
type Value struct {
	Name  string
	Value string
}

// Context is what the predefined parameters are made of: the target namespace and its
// Account.
type Context struct {
	Namespace            string
	NamespaceLabels      map[string]string
	NamespaceAnnotations map[string]string
	Account              string
	AccountLabels        map[string]string
	AccountAnnotations   map[string]string
}

// Values are resolved parameters: the declared ones and the predefined ones.
type Values struct {
	declared map[string]string
	ctx      Context
}

// lookup returns the value of a reference: a declared parameter, or a predefined one
// (NAMESPACE, ACCOUNT, namespace.metadata.labels.X and the like, whose prefix is matched
// without regard to case).
func (v Values) lookup(name string) (string, bool) {
	if val, ok := v.declared[name]; ok {
		return val, true
	}
	switch strings.ToUpper(name) {
	case "NAMESPACE":
		return v.ctx.Namespace, true
	case "ACCOUNT":
		return v.ctx.Account, true
	}
	for _, p := range []struct {
		prefix string
		values map[string]string
	}{
		{"namespace.metadata.labels.", v.ctx.NamespaceLabels},
		{"namespace.metadata.annotations.", v.ctx.NamespaceAnnotations},
		{"account.metadata.labels.", v.ctx.AccountLabels},
		{"account.metadata.annotations.", v.ctx.AccountAnnotations},
	} {
		if len(name) > len(p.prefix) && strings.EqualFold(name[:len(p.prefix)], p.prefix) {
			return p.values[name[len(p.prefix):]], true
		}
	}
	return "", false
}

// Resolve checks the values an instance gives against the parameters a Template declares
// and returns every value the Template may refer to. Every problem is found here, before
// anything is rendered.
func Resolve(templateName string, params []Parameter, given []Value, ctx Context) (Values, error) {
	declared := make(map[string]string, len(params))
	index := make(map[string]int, len(params))
	for i, p := range params {
		if p.Name == "" {
			return Values{}, errorf(ReasonParameterInvalid, fmt.Sprintf("parameters[%d].name", i), "must not be empty")
		}
		declared[p.Name] = p.Value
		index[p.Name] = i
	}
	for i, v := range given {
		if _, ok := declared[v.Name]; !ok {
			return Values{}, errorf(ReasonParameterNotDeclared, fmt.Sprintf("spec.parameters[%d].name", i),
				"parameter %s does not exist in template %s", v.Name, templateName)
		}
		declared[v.Name] = v.Value
	}
	for _, p := range params {
		value := declared[p.Name]
		field := fmt.Sprintf("parameters[%d]", index[p.Name])
		if len(value) > MaxValueLength {
			return Values{}, errorf(ReasonLimitExceeded, field+".value", "parameter %s is longer than %d bytes", p.Name, MaxValueLength)
		}
		if p.Required && value == "" {
			return Values{}, errorf(ReasonParameterRequired, field, "parameter %s is required but has no value", p.Name)
		}
		if p.Validation == "" {
			continue
		}
		if len(p.Validation) > MaxPatternLength {
			return Values{}, errorf(ReasonLimitExceeded, field+".validation", "the pattern of parameter %s is longer than %d bytes", p.Name, MaxPatternLength)
		}
		re, err := regexp.Compile(p.Validation)
		if err != nil {
			return Values{}, errorf(ReasonParameterInvalid, field+".validation", "the pattern of parameter %s is not a valid regular expression: %v", p.Name, err)
		}
		if !re.MatchString(value) {
			return Values{}, errorf(ReasonParameterInvalid, field, "value %q of parameter %s does not match %s", value, p.Name, p.Validation)
		}
	}
	return Values{declared: declared, ctx: ctx}, nil
}
