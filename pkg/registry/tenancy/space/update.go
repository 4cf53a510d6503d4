package space

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
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
	opts := metav1.UpdateOptions{FieldManager: configv1alpha1.FieldManager}
	if options != nil {
		opts.DryRun = options.DryRun
	}
	ns, ok := r.index.Spaces().Snapshot().Get(name)
	if !ok {
		return nil, false, apierrors.NewNotFound(tenancy.Resource("spaces"), name)
	}
	updated, err := r.updateFrom(ctx, old, ns, objInfo, updateValidation, opts)
	// A patch applies to the latest Space: when the namespace changed after the access index
	// last saw it (the server's own writes, such as sleep mode's last activity, come at any
	// moment), it is applied again to the namespace as kube-apiserver has it. An update
	// carries the version its caller read, so its conflict is the caller's to resolve.
	for i := 0; i < patchRetries && apierrors.IsConflict(err) && isPatch(ctx); i++ {
		fresh, getErr := r.writer.Kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if getErr != nil {
			return nil, false, getErr
		}
		updated, err = r.updateFrom(ctx, FromNamespace(fresh), fresh, objInfo, updateValidation, opts)
	}
	if apierrors.IsConflict(err) {
		return nil, false, apierrors.NewConflict(tenancy.Resource("spaces"), name, fmt.Errorf("the object has been modified; please apply your changes to the latest version and try again"))
	}
	if err != nil {
		return nil, false, err
	}
	return FromNamespace(updated), false, nil
}

// patchRetries bounds how often a patch is applied again to a namespace that changed.
const patchRetries = 3

func isPatch(ctx context.Context) bool {
	info, ok := genericapirequest.RequestInfoFrom(ctx)
	return ok && info.Verb == "patch"
}

// updateFrom writes the namespace ns with the labels and annotations of the Space that
// objInfo makes of old, once the admission chain (SpaceAccount: the Account and the
// kiosk.sh/ keys, sleep mode's annotations) admits it.
func (r *REST) updateFrom(ctx context.Context, old *tenancy.Space, ns *corev1.Namespace, objInfo rest.UpdatedObjectInfo,
	updateValidation rest.ValidateObjectUpdateFunc, opts metav1.UpdateOptions) (*corev1.Namespace, error) {
	obj, err := objInfo.UpdatedObject(ctx, old)
	if err != nil {
		return nil, err
	}
	s := obj.(*tenancy.Space)
	if updateValidation != nil {
		if err := updateValidation(ctx, s, old); err != nil {
			return nil, err
		}
	}
	want := ns.DeepCopy()
	next := ToNamespace(s)
	want.Labels, want.Annotations = next.Labels, next.Annotations
	want.ResourceVersion = s.ResourceVersion
	return r.writer.Kube.CoreV1().Namespaces().Update(ctx, want, opts)
}
