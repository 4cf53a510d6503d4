package space

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/registry/rest"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/validation"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
	tenancyv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/hub"
)

// cannot is the Forbidden answer for a cluster the hub cannot send the caller's request
// to. It reads as the member's own RBAC denial, so that naming a cluster that does not exist
// tells a caller nothing a real cluster that refuses them would not.
func cannot(u user.Info, verb string) error {
	return apierrors.NewForbidden(tenancy.Resource("spaces"), "",
		fmt.Errorf("User %q cannot %s resource \"spaces\" in API group %q at the cluster scope", u.GetName(), verb, tenancy.GroupName))
}

// memberError is err of a member as the caller sees it: the member's own answer, or 503
// naming the member when it does not answer.
func memberError(cluster string, err error) error {
	if errors.Is(err, hub.ErrNoCluster) {
		return err
	}
	if _, ok := err.(apierrors.APIStatus); ok && answers(err) || apierrors.IsInvalid(err) || apierrors.IsAlreadyExists(err) ||
		apierrors.IsConflict(err) || apierrors.IsBadRequest(err) {
		return err
	}
	return apierrors.NewServiceUnavailable(fmt.Sprintf("cluster %q is not answering: %v", cluster, err))
}

// Create makes the Space in the cluster spec.cluster names, as the caller: in a member
// through its tenancy-apiserver, whose admission decides; without spec.cluster in the
// server's own cluster.
func (h *HubREST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	s := obj.(*tenancy.Space)
	cluster := s.Spec.Cluster
	if cluster == hub.Local {
		return h.REST.Create(ctx, obj, createValidation, options)
	}
	u, err := userFrom(ctx)
	if err != nil {
		return nil, err
	}
	p := field.NewPath("spec", "cluster")
	for _, msg := range validation.ValidateClusterName(cluster, false) {
		return nil, apierrors.NewInvalid(tenancy.Kind("Space"), s.Name, field.ErrorList{field.Invalid(p, cluster, msg)})
	}
	if _, ok := s.Labels[configv1alpha1.ClusterLabel]; ok {
		return nil, apierrors.NewInvalid(tenancy.Kind("Space"), s.Name, field.ErrorList{
			field.Forbidden(field.NewPath("metadata", "labels").Key(configv1alpha1.ClusterLabel), "is set from spec.cluster")})
	}
	if narrowed, ok := hub.ClusterFrom(ctx); ok && narrowed != cluster {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("spec.cluster %q is not the cluster %q of the request", cluster, narrowed))
	}
	spaces, err := h.memberSpaces(ctx, cluster, u, false)
	if errors.Is(err, hub.ErrNoCluster) {
		return nil, cannot(u, "create")
	}
	if err != nil {
		return nil, memberError(cluster, err)
	}
	out := &tenancyv1alpha1.Space{}
	if err := tenancyv1alpha1.Convert_tenancy_Space_To_v1alpha1_Space(s, out, nil); err != nil {
		return nil, err
	}
	out.Spec.Cluster = ""
	opts := metav1.CreateOptions{}
	if options != nil {
		opts.DryRun, opts.FieldManager, opts.FieldValidation = options.DryRun, options.FieldManager, options.FieldValidation
	}
	ctx, cancel := context.WithTimeout(ctx, memberTimeout+readyTimeout)
	defer cancel()
	created, err := spaces.Create(ctx, out, opts)
	if err != nil {
		return nil, memberError(cluster, err)
	}
	if len(opts.DryRun) == 0 {
		// The caller's next list shows what they created, or asks the member.
		h.views.Expect(u, cluster, created.Name, hub.HasUID(created.UID))
	}
	return h.fromMember(cluster, created)
}

// Delete deletes the Space name, as the caller, in the one cluster where the caller sees
// it (the one ?cluster= names, if given). A name the caller sees in several clusters must
// be narrowed with ?cluster=.
func (h *HubREST) Delete(ctx context.Context, name string, deleteValidation rest.ValidateObjectFunc, options *metav1.DeleteOptions) (runtime.Object, bool, error) {
	clusters, hubMode := h.clusters(ctx, clusterSelector{})
	if !hubMode {
		return h.REST.Delete(ctx, name, deleteValidation, options)
	}
	found, err := h.find(ctx, name, clusters, false)
	if err != nil {
		return nil, false, err
	}
	if len(found) > 1 {
		in := make([]string, len(found))
		for i, s := range found {
			in[i] = s.Spec.Cluster
			if in[i] == hub.Local {
				in[i] = "(this cluster)"
			}
		}
		return nil, false, apierrors.NewConflict(tenancy.Resource("spaces"), name,
			fmt.Errorf("the Space exists in clusters %s: name one with ?%s=", joinQuoted(in), hub.ClusterParameter))
	}
	s := found[0]
	if s.Spec.Cluster == hub.Local {
		return h.REST.Delete(ctx, name, deleteValidation, options)
	}
	u, err := userFrom(ctx)
	if err != nil {
		return nil, false, err
	}
	spaces, err := h.memberSpaces(ctx, s.Spec.Cluster, u, false)
	if err != nil {
		return nil, false, memberError(s.Spec.Cluster, err)
	}
	opts := metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &s.UID}}
	if options != nil {
		opts.DryRun, opts.PropagationPolicy, opts.GracePeriodSeconds = options.DryRun, options.PropagationPolicy, options.GracePeriodSeconds
	}
	ctx, cancel := context.WithTimeout(ctx, memberTimeout)
	defer cancel()
	if err := spaces.Delete(ctx, name, opts); err != nil {
		return nil, false, memberError(s.Spec.Cluster, err)
	}
	if len(opts.DryRun) == 0 {
		h.views.Expect(u, s.Spec.Cluster, name, hub.GoneOrDeleting(s.UID))
	}
	s.Status.Phase = "Terminating"
	return s, false, nil
}
