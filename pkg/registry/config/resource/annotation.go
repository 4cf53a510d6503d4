package resource

import (
	"context"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ServerAnnotation is an annotation the server writes from the request that creates an
// object, such as who made it. A client may leave it out; one that sets it at create to
// anything but the server's value, or changes it later, is refused with a Forbidden error on
// the annotation's field. An update that leaves it out keeps the stored value.
type ServerAnnotation struct {
	// Key is the annotation's key.
	Key string
	// Value returns the value for a create made with ctx, or "" for none.
	Value func(ctx context.Context) string
	// Detail says, in the Forbidden error, who sets the annotation.
	Detail string
}

func (a ServerAnnotation) path() *field.Path {
	return field.NewPath("metadata", "annotations").Key(a.Key)
}

// prepareCreate sets the annotation unless the client did; validateCreate then judges what
// the client gave.
func (a ServerAnnotation) prepareCreate(ctx context.Context, obj Object) {
	annotations := obj.GetAnnotations()
	if _, given := annotations[a.Key]; given {
		return
	}
	v := a.Value(ctx)
	if v == "" {
		return
	}
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[a.Key] = v
	obj.SetAnnotations(annotations)
}

func (a ServerAnnotation) validateCreate(ctx context.Context, obj Object) field.ErrorList {
	got, given := obj.GetAnnotations()[a.Key]
	if !given || got == a.Value(ctx) {
		return nil
	}
	return field.ErrorList{field.Forbidden(a.path(), a.Detail)}
}

// prepareUpdate keeps the stored value when an update leaves the annotation out.
func (a ServerAnnotation) prepareUpdate(obj, old Object) {
	stored, ok := old.GetAnnotations()[a.Key]
	if !ok {
		return
	}
	annotations := obj.GetAnnotations()
	if _, given := annotations[a.Key]; given {
		return
	}
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[a.Key] = stored
	obj.SetAnnotations(annotations)
}

func (a ServerAnnotation) validateUpdate(obj, old Object) field.ErrorList {
	got, given := obj.GetAnnotations()[a.Key]
	stored, had := old.GetAnnotations()[a.Key]
	if given == had && got == stored {
		return nil
	}
	return field.ErrorList{field.Forbidden(a.path(), a.Detail)}
}
