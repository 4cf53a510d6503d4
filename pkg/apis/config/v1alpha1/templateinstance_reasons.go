package v1alpha1

// Reasons of a Failed TemplateInstance that may go away as the controller retries it. The
// other reasons are those of the Template itself (its parameters, manifests or chart), and
// last until the Template or the instance changes.
const (
	// ReasonTemplateNotFound is the failure of an instance whose Template does not exist.
	ReasonTemplateNotFound = "TemplateNotFound"
	// ReasonApplyFailed is the failure of an instance one of whose objects could not be
	// applied.
	ReasonApplyFailed = "ApplyFailed"
	// ReasonPruneFailed is the failure of an instance that could not delete an object
	// dropped from its Template.
	ReasonPruneFailed = "PruneFailed"
	// ReasonConflict is the failure of an instance whose object another instance owns.
	ReasonConflict = "Conflict"
)
