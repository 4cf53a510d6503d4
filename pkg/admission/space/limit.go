package space

import (
	"context"
	"io"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/admission"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/accounts"
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

// Validate refuses a new Space early when its Account has no place left under its Space
// limit. It only checks: the Space storage takes the place, with a compare-and-swap on the
// Account's ledger record, as it creates the Space. Callers who may create namespaces
// cluster-wide are not held to the limit: they could create and label the namespace
// themselves anyway.
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
	return reservation.ForSpace(ctx, d.Reservations, d.Allowed, a.GetUserInfo(), account, s.Name,
		func() ([]string, error) { return accounts.SpacesOf(d.Index, account.Name) }, true)
}
