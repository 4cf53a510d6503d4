// Package resource holds what the config.kiosk.sh resources share: create, update and status
// strategies and selector attributes, configured per kind.
package resource

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// Object is a config.kiosk.sh object.
type Object interface {
	runtime.Object
	metav1.Object
}

// Kind describes how one config.kiosk.sh kind is written.
type Kind[T Object] struct {
	// Namespaced is true for namespaced kinds.
	Namespaced bool
	// PrepareForCreate resets what a client may not set on create, such as status.
	PrepareForCreate func(obj T)
	// KeepStatus copies old's status into obj: writes of the resource leave status alone.
	// Nil for kinds without status.
	KeepStatus func(obj, old T)
	// KeepSpec copies old's spec into obj: writes of /status leave the spec alone.
	KeepSpec func(obj, old T)
	// SpecChanged reports whether the generation must grow.
	SpecChanged func(obj, old T) bool
	// Validate, ValidateUpdate and ValidateStatusUpdate check writes.
	Validate             func(obj T) field.ErrorList
	ValidateUpdate       func(obj, old T) field.ErrorList
	ValidateStatusUpdate func(obj, old T) field.ErrorList
	// Warnings are returned to the client with a create or an update of obj. Nil for none.
	Warnings func(obj T) []string
	// Fields are the selectable fields besides metadata.name and metadata.namespace.
	Fields func(obj T) fields.Set
	// ServerAnnotations are set by the server at create, from the request, and never by a
	// client, through the resource or its status.
	ServerAnnotations []ServerAnnotation
}

// Strategy is the create, update and delete strategy of a kind.
type Strategy[T Object] struct {
	runtime.ObjectTyper
	names.NameGenerator
	kind Kind[T]
}

// StatusStrategy is the update strategy of a kind's /status subresource.
type StatusStrategy[T Object] struct {
	Strategy[T]
}

// NewStrategy returns the strategy of a kind.
func NewStrategy[T Object](typer runtime.ObjectTyper, kind Kind[T]) Strategy[T] {
	return Strategy[T]{typer, names.SimpleNameGenerator, kind}
}

// StatusStrategy returns the strategy of the kind's /status subresource.
func (s Strategy[T]) StatusStrategy() StatusStrategy[T] { return StatusStrategy[T]{s} }

var v1alpha1 = fieldpath.APIVersion("config.kiosk.sh/v1alpha1")

// NamespaceScoped reports whether the kind is namespaced.
func (s Strategy[T]) NamespaceScoped() bool { return s.kind.Namespaced }

// GetResetFields returns the fields a write of the resource leaves alone: status.
func (s Strategy[T]) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	if s.kind.KeepStatus == nil {
		return nil
	}
	return map[fieldpath.APIVersion]*fieldpath.Set{v1alpha1: fieldpath.NewSet(fieldpath.MakePathOrDie("status"))}
}

// PrepareForCreate resets status, sets the server's annotations and starts the generation
// at 1.
func (s Strategy[T]) PrepareForCreate(ctx context.Context, obj runtime.Object) {
	o := obj.(T)
	if s.kind.PrepareForCreate != nil {
		s.kind.PrepareForCreate(o)
	}
	for _, a := range s.kind.ServerAnnotations {
		a.prepareCreate(ctx, o)
	}
	o.SetGeneration(1)
}

// PrepareForUpdate keeps the stored status, sets the server's annotations and grows the
// generation when the spec changes.
func (s Strategy[T]) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	o, prev := obj.(T), old.(T)
	if s.kind.KeepStatus != nil {
		s.kind.KeepStatus(o, prev)
	}
	s.prepareServerAnnotations(ctx, o, prev)
	if s.kind.SpecChanged(o, prev) {
		o.SetGeneration(prev.GetGeneration() + 1)
	}
}

func (s Strategy[T]) prepareServerAnnotations(ctx context.Context, obj, old T) {
	if len(s.kind.ServerAnnotations) == 0 {
		return
	}
	changed := s.kind.SpecChanged(obj, old)
	for _, a := range s.kind.ServerAnnotations {
		a.prepareUpdate(ctx, obj, old, changed)
	}
}

func (s Strategy[T]) validateServerAnnotations(ctx context.Context, obj, old T) field.ErrorList {
	if len(s.kind.ServerAnnotations) == 0 {
		return nil
	}
	changed := s.kind.SpecChanged(obj, old)
	var errs field.ErrorList
	for _, a := range s.kind.ServerAnnotations {
		errs = append(errs, a.validateUpdate(ctx, obj, old, changed)...)
	}
	return errs
}

// Validate checks a new object.
func (s Strategy[T]) Validate(ctx context.Context, obj runtime.Object) field.ErrorList {
	o := obj.(T)
	errs := s.kind.Validate(o)
	for _, a := range s.kind.ServerAnnotations {
		errs = append(errs, a.validateCreate(ctx, o)...)
	}
	return errs
}

// WarningsOnCreate returns the kind's warnings for obj.
func (s Strategy[T]) WarningsOnCreate(_ context.Context, obj runtime.Object) []string {
	return s.warnings(obj)
}

func (s Strategy[T]) warnings(obj runtime.Object) []string {
	if s.kind.Warnings == nil {
		return nil
	}
	return s.kind.Warnings(obj.(T))
}

// AllowCreateOnUpdate is false: objects are created with create.
func (Strategy[T]) AllowCreateOnUpdate(context.Context) bool { return false }

// AllowUnconditionalUpdate lets an update without resourceVersion through.
func (Strategy[T]) AllowUnconditionalUpdate(context.Context) bool { return true }

// Canonicalize does nothing.
func (Strategy[T]) Canonicalize(runtime.Object) {}

// ValidateUpdate checks an update.
func (s Strategy[T]) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	o, prev := obj.(T), old.(T)
	return append(s.kind.ValidateUpdate(o, prev), s.validateServerAnnotations(ctx, o, prev)...)
}

// WarningsOnUpdate returns the kind's warnings for the updated obj.
func (s Strategy[T]) WarningsOnUpdate(_ context.Context, obj, _ runtime.Object) []string {
	return s.warnings(obj)
}

// GetResetFields returns the fields a write of /status leaves alone: spec, labels and
// annotations.
func (StatusStrategy[T]) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{v1alpha1: fieldpath.NewSet(
		fieldpath.MakePathOrDie("spec"),
		fieldpath.MakePathOrDie("metadata", "labels"),
		fieldpath.MakePathOrDie("metadata", "annotations"),
	)}
}

// PrepareForUpdate keeps the stored spec and metadata: a write of /status changes the
// status only, so that whoever may write status cannot relabel or re-annotate the object
// (for a TemplateInstance, make it mandatory or move it to another Account).
func (s StatusStrategy[T]) PrepareForUpdate(ctx context.Context, obj, old runtime.Object) {
	o, prev := obj.(T), old.(T)
	s.kind.KeepSpec(o, prev)
	metav1.ResetObjectMetaForStatus(o, prev)
	s.prepareServerAnnotations(ctx, o, prev)
}

// ValidateUpdate checks a status update.
func (s StatusStrategy[T]) ValidateUpdate(ctx context.Context, obj, old runtime.Object) field.ErrorList {
	o, prev := obj.(T), old.(T)
	return append(s.kind.ValidateStatusUpdate(o, prev), s.validateServerAnnotations(ctx, o, prev)...)
}

// GetAttrs returns the labels and fields of an object for selectors.
func (s Strategy[T]) GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	o, ok := obj.(T)
	if !ok {
		var want T
		return nil, nil, fmt.Errorf("want a %T, got %T", want, obj)
	}
	extra := fields.Set{}
	if s.kind.Fields != nil {
		extra = s.kind.Fields(o)
	}
	extra["metadata.name"] = o.GetName()
	if s.kind.Namespaced {
		extra["metadata.namespace"] = o.GetNamespace()
	}
	return labels.Set(o.GetLabels()), extra, nil
}

// Matcher selects objects of the kind by label and field.
func (s Strategy[T]) Matcher(label labels.Selector, field fields.Selector) storage.SelectionPredicate {
	return storage.SelectionPredicate{Label: label, Field: field, GetAttrs: s.GetAttrs}
}
