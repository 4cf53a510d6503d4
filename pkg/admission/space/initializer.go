package space

import (
	"context"
	"errors"
	"sync/atomic"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/accounts"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy/reservation"
)

// Deps is what the Space plugins decide with. The server builds it at config time, before
// the admission chain, from the Account storage, the access index, the reservation ledger
// and the authorizer, all of which exist by then.
type Deps struct {
	// Accounts reads config.kiosk.sh Accounts.
	Accounts accounts.Reader
	// Index tells which namespaces each Account has.
	Index *access.Index
	// Reservations hold Space limits across replicas.
	Reservations *reservation.Ledger
	// Allowed asks whether a user may do something, cluster-wide grants included.
	Allowed func(context.Context, authorizer.AttributesRecord) (bool, error)
}

// Tenancy hands the plugins their Deps, and records which of the Space plugins the
// admission chain holds as the chain is built.
type Tenancy struct {
	deps *Deps
	// account and limit are set when the chain is built with these plugins in it.
	account, limit atomic.Bool
}

// NewTenancy returns a Tenancy that hands the plugins d.
func NewTenancy(d *Deps) *Tenancy { return &Tenancy{deps: d} }

// Enforced reports whether both Space plugins are in the admission chain. Without them a
// Space create would skip the Account's subjects and limit, so the Space storage refuses
// creates instead. The chain is built before the server, so the answer is final by the
// time the server serves.
func (t *Tenancy) Enforced() bool { return t.account.Load() && t.limit.Load() }

// WantsTenancy is a plugin that needs the server's Tenancy.
type WantsTenancy interface {
	SetTenancy(*Tenancy)
	admission.InitializationValidator
}

// Initializer hands out one Tenancy to the plugins that want it.
type Initializer struct{ Tenancy *Tenancy }

var _ admission.PluginInitializer = Initializer{}

// Initialize gives plugin the Tenancy when it wants one.
func (i Initializer) Initialize(plugin admission.Interface) {
	if p, ok := plugin.(WantsTenancy); ok {
		p.SetTenancy(i.Tenancy)
	}
}

// base is what both plugins share: their Tenancy.
type base struct {
	*admission.Handler
	tenancy *Tenancy
}

func newBase(ops ...admission.Operation) base {
	return base{Handler: admission.NewHandler(ops...)}
}

// SetTenancy receives the server's Tenancy.
func (b *base) SetTenancy(t *Tenancy) { b.tenancy = t }

// ValidateInitialization fails when the plugin has no Tenancy, or a Tenancy without Deps.
func (b *base) ValidateInitialization() error {
	if b.tenancy == nil {
		return errors.New("the Space admission plugins need the server's Tenancy initializer")
	}
	if b.tenancy.deps == nil {
		return errors.New("the Space admission plugins were given a Tenancy without Deps")
	}
	return nil
}

// deps returns what the plugin decides with.
func (b *base) deps() (*Deps, error) {
	if b.tenancy == nil || b.tenancy.deps == nil {
		return nil, apierrors.NewServiceUnavailable("not ready to admit Spaces: the Space admission plugins have no Deps")
	}
	return b.tenancy.deps, nil
}
