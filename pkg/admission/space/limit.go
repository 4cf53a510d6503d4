package space

import (
	"context"
	"errors"
	"io"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy/reservation"
)

// LimitPluginName is the SpaceLimit plugin's name in --enable-admission-plugins.
const LimitPluginName = "SpaceLimit"

// RegisterLimit adds the SpaceLimit plugin to plugins.
func RegisterLimit(plugins *admission.Plugins) {
	plugins.Register(LimitPluginName, func(io.Reader) (admission.Interface, error) { return NewLimit(), nil })
}

// Limit is the SpaceLimit plugin.
type Limit struct{ base }

var (
	_ admission.ValidationInterface = &Limit{}
	_ WantsTenancy                  = &Limit{}
)

// SetTenancy receives the server's Tenancy.
func (p *Limit) SetTenancy(t *Tenancy) {
	p.base.SetTenancy(t)
	t.limit.Store(true)
}

// NewLimit returns the SpaceLimit plugin.
func NewLimit() *Limit { return &Limit{newBase(admission.Create)} }

// Validate takes a place for a new Space when its Account has a Space limit, with a
// compare-and-swap on the Account's reservation record, so that no number of concurrent
// creates on any number of replicas overshoots the limit. The Space storage gives the place
// back when the create fails, and when the Space is deleted. A dry run only checks. Callers
// who may create namespaces cluster-wide are not held to the limit: they could create and
// label the namespace themselves anyway. Their Spaces still take places.
func (p *Limit) Validate(ctx context.Context, a admission.Attributes, _ admission.ObjectInterfaces) error {
	s, ok := spaceOf(a)
	if !ok || s.Spec.Account == "" {
		return nil
	}
	d, err := p.deps()
	if err != nil {
		return err
	}
	account, err := d.Accounts.Get(ctx, s.Spec.Account)
	if apierrors.IsNotFound(err) {
		return nil // SpaceAccount answers for a missing Account
	}
	if err != nil {
		return err
	}
	if account.Spec.Space.Limit == nil {
		return nil
	}
	admin, err := d.Allowed(ctx, authorizer.AttributesRecord{User: a.GetUserInfo(), Verb: "create", Resource: "namespaces", ResourceRequest: true})
	if err != nil || admin {
		return err
	}
	var existing []string
	for name, ns := range d.Index.Spaces().Snapshot().All() {
		if ns.Labels[configv1alpha1.AccountLabel] == account.Name {
			existing = append(existing, name)
		}
	}
	err = d.Reservations.Reserve(ctx, account.Name, s.Name, *account.Spec.Space.Limit, existing, a.IsDryRun())
	var limit *reservation.LimitError
	if errors.As(err, &limit) {
		return apierrors.NewForbidden(tenancy.Resource("spaces"), s.Name, err)
	}
	return err
}
