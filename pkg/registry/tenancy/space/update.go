package space

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/registry/rest"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
)

var _ rest.Updater = &REST{}

// Update changes the labels and annotations of a Space's namespace, for callers who may
// update that namespace. Nobody moves a Space to another Account here, and only callers who
// may update namespaces cluster-wide touch kiosk.sh/ labels and annotations.
func (r *REST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, _ rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, _ bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	u, err := userFrom(ctx)
	if err != nil {
		return nil, false, err
	}
	oldObj, err := r.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, false, err
	}
	old := oldObj.(*tenancy.Space)
	allowed, err := r.visibility.Allowed(ctx, authorizer.AttributesRecord{
		User: u, Verb: "update", Resource: "namespaces", Name: name, Namespace: name, ResourceRequest: true})
	if err != nil {
		return nil, false, err
	}
	if !allowed {
		return nil, false, apierrors.NewForbidden(tenancy.Resource("spaces"), name,
			fmt.Errorf("User %q cannot update resource \"namespaces\" in API group \"\" in the namespace %q", u.GetName(), name))
	}
	obj, err := objInfo.UpdatedObject(ctx, old)
	if err != nil {
		return nil, false, err
	}
	s := obj.(*tenancy.Space)
	// The admission chain (SpaceAccount) keeps the Account and the kiosk.sh/ keys.
	if updateValidation != nil {
		if err := updateValidation(ctx, s, old); err != nil {
			return nil, false, err
		}
	}
	ns, ok := r.index.Spaces().Snapshot().Get(name)
	if !ok {
		return nil, false, apierrors.NewNotFound(tenancy.Resource("spaces"), name)
	}
	want := ns.DeepCopy()
	next := ToNamespace(s)
	want.Labels, want.Annotations = next.Labels, next.Annotations
	want.ResourceVersion = s.ResourceVersion
	opts := metav1.UpdateOptions{FieldManager: configv1alpha1.FieldManager}
	if options != nil {
		opts.DryRun = options.DryRun
	}
	updated, err := r.writer.Kube.CoreV1().Namespaces().Update(ctx, want, opts)
	if apierrors.IsConflict(err) {
		return nil, false, apierrors.NewConflict(tenancy.Resource("spaces"), name, fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
	}
	if err != nil {
		return nil, false, err
	}
	return FromNamespace(updated), false, nil
}
