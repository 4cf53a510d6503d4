package space

import (
	"context"
	"io"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/warning"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/accounts"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

// SubjectsPluginName is the AccountSubjects plugin's name in --enable-admission-plugins.
const SubjectsPluginName = "AccountSubjects"

// RegisterSubjects adds the AccountSubjects plugin to plugins.
func RegisterSubjects(plugins *admission.Plugins) {
	plugins.Register(SubjectsPluginName, func(io.Reader) (admission.Interface, error) { return NewSubjects(), nil })
}

// Subjects is the AccountSubjects plugin: the Account side of the service-account namespace
// rule whose Space side SpaceAccount holds.
type Subjects struct{ base }

var (
	_ admission.ValidationInterface = &Subjects{}
	_ WantsTenancy                  = &Subjects{}
)

// NewSubjects returns the AccountSubjects plugin.
func NewSubjects() *Subjects { return &Subjects{newBase(admission.Create, admission.Update)} }

var subjectsPath = field.NewPath("spec", "subjects")

// Validate refuses an Account whose spec.subjects name service accounts of a namespace that
// is a Space of another Account (see accounts.ValidateServiceAccountSubjects), for every
// caller. An update that leaves spec.subjects as they were, as of an Account stored before
// this rule, is admitted with the refusals as warnings, so that the Account can still be
// deleted and have its other fields changed while its admin sees what to remove.
func (p *Subjects) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	if a.GetResource().GroupResource() != config.Resource("accounts") || a.GetSubresource() != "" {
		return nil
	}
	account, ok := a.GetObject().(*config.Account)
	if !ok || len(accounts.ServiceAccountNamespaces(account.Spec.Subjects)) == 0 {
		return nil
	}
	d, err := p.deps()
	if err != nil {
		return err
	}
	if !d.Index.Ready() {
		return apierrors.NewServiceUnavailable("not yet ready to admit Accounts: the Spaces are not yet known")
	}
	spaces := d.Index.Spaces().Snapshot()
	errs := accounts.ValidateServiceAccountSubjects(account.Name, account.Spec.Subjects, subjectsPath, func(ns string) string {
		if space, ok := spaces.Get(ns); ok {
			return space.Labels[configv1alpha1.AccountLabel]
		}
		return ""
	})
	if len(errs) == 0 {
		return nil
	}
	if old, ok := a.GetOldObject().(*config.Account); ok && equality.Semantic.DeepEqual(old.Spec.Subjects, account.Spec.Subjects) {
		for _, e := range errs {
			warning.AddWarning(ctx, "", e.Error())
		}
		return nil
	}
	return apierrors.NewForbidden(config.Resource("accounts"), account.Name, errs.ToAggregate())
}
