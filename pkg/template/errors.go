// Package template renders Templates: it resolves and validates parameters, then substitutes
// them into the Template's manifests, before anything is applied.
//
// Substitution works on parsed objects, never on YAML text, so a parameter value can only
// add structure where a Template asks for it with ${{NAME}}:
//
//   - "${NAME}" anywhere inside a string (values or map keys) is replaced by the value;
//   - a string that is exactly "${{NAME}}" is replaced by the value parsed as YAML, so it
//     can become a number, a boolean, a list or an object;
//   - "$${" renders as a literal "${".
//
// Values are never expanded again, so a value that contains "${OTHER}" stays as written.
package template

import "fmt"

// Reasons a Template cannot be rendered. They are CamelCase, for TemplateInstance
// status.reason.
const (
	ReasonParameterNotDeclared     = "ParameterNotDeclared"
	ReasonParameterRequired        = "ParameterRequired"
	ReasonParameterInvalid         = "ParameterInvalid"
	ReasonUnknownReference         = "UnknownReference"
	ReasonManifestInvalid          = "ManifestInvalid"
	ReasonNamespaceMismatch        = "NamespaceMismatch"
	ReasonClusterScopedNotAllowed  = "ClusterScopedNotAllowed"
	ReasonLimitExceeded            = "LimitExceeded"
	ReasonResourceKindNotSupported = "ResourceKindNotSupported"
)

// Error says why a Template could not be rendered, and where.
type Error struct {
	// Reason is one of the Reason constants.
	Reason string
	// Field is the path of the offending field, such as "parameters[1].value" or
	// "resources.manifests[2].metadata.name".
	Field string
	// Message says what is wrong, for a person.
	Message string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

func errorf(reason, field, format string, args ...any) *Error {
	return &Error{Reason: reason, Field: field, Message: fmt.Sprintf(format, args...)}
}
