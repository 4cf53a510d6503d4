// Package account stores config.kiosk.sh TemplateInstances in etcd.
package templateinstance

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/names"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/validation"
)

type strategy struct {
	runtime.ObjectTyper
	names.NameGenerator
}

type statusStrategy struct {
	strategy
}

// NewStrategy returns the strategy for writes of TemplateInstances.
func NewStrategy(typer runtime.ObjectTyper) strategy {
	return strategy{typer, names.SimpleNameGenerator}
}

// NewStatusStrategy returns the strategy for writes of TemplateInstance status.
func NewStatusStrategy(s strategy) statusStrategy { return statusStrategy{s} }

func (strategy) NamespaceScoped() bool { return true }

func (strategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		"config.kiosk.sh/v1alpha1": fieldpath.NewSet(fieldpath.MakePathOrDie("status")),
	}
}

func (strategy) PrepareForCreate(_ context.Context, obj runtime.Object) {
	a := obj.(*config.TemplateInstance)
	a.Status = config.TemplateInstanceStatus{Status: config.TemplateInstanceStatusPending}
	a.Generation = 1
}

func (strategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	a, oldA := obj.(*config.TemplateInstance), old.(*config.TemplateInstance)
	a.Status = oldA.Status
	if !equality.Semantic.DeepEqual(a.Spec, oldA.Spec) {
		a.Generation = oldA.Generation + 1
	}
}

func (strategy) Validate(_ context.Context, obj runtime.Object) field.ErrorList {
	return validation.ValidateTemplateInstance(obj.(*config.TemplateInstance))
}

func (strategy) WarningsOnCreate(context.Context, runtime.Object) []string { return nil }

func (strategy) AllowCreateOnUpdate(context.Context) bool { return false }

func (strategy) AllowUnconditionalUpdate(context.Context) bool { return true }

func (strategy) Canonicalize(runtime.Object) {}

func (strategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidateTemplateInstanceUpdate(obj.(*config.TemplateInstance), old.(*config.TemplateInstance))
}

func (strategy) WarningsOnUpdate(context.Context, runtime.Object, runtime.Object) []string {
	return nil
}

func (statusStrategy) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return map[fieldpath.APIVersion]*fieldpath.Set{
		"config.kiosk.sh/v1alpha1": fieldpath.NewSet(fieldpath.MakePathOrDie("spec")),
	}
}

func (statusStrategy) PrepareForUpdate(_ context.Context, obj, old runtime.Object) {
	a, oldA := obj.(*config.TemplateInstance), old.(*config.TemplateInstance)
	a.Spec = oldA.Spec
}

func (statusStrategy) ValidateUpdate(_ context.Context, obj, old runtime.Object) field.ErrorList {
	return validation.ValidateTemplateInstanceStatusUpdate(obj.(*config.TemplateInstance), old.(*config.TemplateInstance))
}

// GetAttrs returns the labels and fields of a TemplateInstance for selectors.
func GetAttrs(obj runtime.Object) (labels.Set, fields.Set, error) {
	a, ok := obj.(*config.TemplateInstance)
	if !ok {
		return nil, nil, fmt.Errorf("not a TemplateInstance: %T", obj)
	}
	return labels.Set(a.Labels), generic.AddObjectMetaFieldsSet(fields.Set{"spec.template": a.Spec.Template}, &a.ObjectMeta, true), nil
}

// Matcher selects TemplateInstances by label and field.
func Matcher(label labels.Selector, field fields.Selector) storage.SelectionPredicate {
	return storage.SelectionPredicate{Label: label, Field: field, GetAttrs: GetAttrs}
}
