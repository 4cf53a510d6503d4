package resource

import (
	"context"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ServerAnnotation is an annotation the server writes from the request, such as who made
// an object. A client may leave it out, or send back the value it read; one that sets it to
// anything else is refused with a Forbidden error on the annotation's field.
type ServerAnnotation struct {
	// Key is the annotation's key.
	Key string
	// Value returns the value for a write made with ctx, or "" for none.
	Value func(ctx context.Context) string
	// PerSpec takes the value again from every write that changes the spec, so the
	// annotation tells who set the spec last. Without it, the value of the create stays.
	PerSpec bool
	// Detail says, in the Forbidden error, who sets the annotation.
	Detail string
}

func (a ServerAnnotation) path() *field.Path {
	return field.NewPath("metadata", "annotations").Key(a.Key)
}

func setAnnotation(obj Object, key, value string, set bool) {
	annotations := obj.GetAnnotations()
	if !set {
		if _, ok := annotations[key]; ok {
			delete(annotations, key)
			obj.SetAnnotations(annotations)
		}
		return
	}
	if annotations == nil {
		annotations = map[string]string{}
	}
	annotations[key] = value
	obj.SetAnnotations(annotations)
}

// prepareCreate sets the annotation unless the client did; validateCreate then judges what
// the client gave.
func (a ServerAnnotation) prepareCreate(ctx context.Context, obj Object) {
	if _, given := obj.GetAnnotations()[a.Key]; given {
		return
	}
	if v := a.Value(ctx); v != "" {
		setAnnotation(obj, a.Key, v, true)
	}
}

func (a ServerAnnotation) validateCreate(ctx context.Context, obj Object) field.ErrorList {
	got, given := obj.GetAnnotations()[a.Key]
	if !given || got == a.Value(ctx) {
		return nil
	}
	return field.ErrorList{field.Forbidden(a.path(), a.Detail)}
}

// want is the value an update must leave: the caller's when it changes the spec of a
// PerSpec annotation, the stored one otherwise.
func (a ServerAnnotation) want(ctx context.Context, old Object, specChanged bool) (string, bool) {
	if a.PerSpec && specChanged {
		if v := a.Value(ctx); v != "" {
			return v, true
		}
	}
	v, ok := old.GetAnnotations()[a.Key]
	return v, ok
}

// prepareUpdate sets the value an update must leave, when the client left the annotation
// out or sent back the stored value; another value stays for validateUpdate to refuse.
func (a ServerAnnotation) prepareUpdate(ctx context.Context, obj, old Object, specChanged bool) {
	got, given := obj.GetAnnotations()[a.Key]
	stored, had := old.GetAnnotations()[a.Key]
	want, ok := a.want(ctx, old, specChanged)
	if given && !(had && got == stored) && !(ok && got == want) {
		return
	}
	setAnnotation(obj, a.Key, want, ok)
}

func (a ServerAnnotation) validateUpdate(ctx context.Context, obj, old Object, specChanged bool) field.ErrorList {
	got, given := obj.GetAnnotations()[a.Key]
	want, ok := a.want(ctx, old, specChanged)
	if given == ok && got == want {
		return nil
	}
	return field.ErrorList{field.Forbidden(a.path(), a.Detail)}
}
