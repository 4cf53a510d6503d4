// Package status serves the /status subresource of a resource stored with the generic registry.
package status

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"
	"sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)

// REST is the /status subresource of a resource. Its store carries the status strategy, so an
// update through it changes only status.
type REST struct {
	store *genericregistry.Store
}

var (
	_ rest.Patcher              = &REST{}
	_ rest.Storage              = &REST{}
	_ rest.TableConvertor       = &REST{}
	_ rest.ResetFieldsStrategy  = &REST{}
	_ rest.SingularNameProvider = &REST{}
	_ rest.Scoper               = &REST{}
	_ rest.Getter               = &REST{}
	_ rest.Updater              = &REST{}
)

// NewREST returns the /status subresource for mainStore, writing with statusStrategy.
func NewREST(mainStore *genericregistry.Store, statusStrategy rest.UpdateResetFieldsStrategy) *REST {
	s := *mainStore
	s.UpdateStrategy = statusStrategy
	s.ResetFieldsStrategy = statusStrategy
	return &REST{store: &s}
}

// New returns an empty object.
func (r *REST) New() runtime.Object { return r.store.New() }

// Destroy does nothing: the main resource owns the storage.
func (r *REST) Destroy() {}

// NamespaceScoped reports whether the resource is namespaced.
func (r *REST) NamespaceScoped() bool { return r.store.NamespaceScoped() }

// GetSingularName returns the singular name of the resource.
func (r *REST) GetSingularName() string { return r.store.GetSingularName() }

// Get retrieves the object, for the status subresource.
func (r *REST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, options)
}

// Update changes the status of the object. Creating through /status is not allowed.
func (r *REST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, _ bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	return r.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}

// GetResetFields returns the fields an update through /status leaves alone.
func (r *REST) GetResetFields() map[fieldpath.APIVersion]*fieldpath.Set {
	return r.store.GetResetFields()
}

// ConvertToTable uses the main resource's table.
func (r *REST) ConvertToTable(ctx context.Context, object runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	return r.store.ConvertToTable(ctx, object, tableOptions)
}
