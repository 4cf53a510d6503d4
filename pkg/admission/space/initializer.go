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

// Deps is what the Space plugins decide with. It is made by the server once its storage and
// access index exist, which is after the admission chain is built.
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

// Tenancy hands the plugins their Deps once the server has made them.
type Tenancy struct {
	deps atomic.Pointer[Deps]
	// account and limit are set when the plugins are in the admission chain.
	account, limit atomic.Bool
}

// Enforced reports whether both Space plugins are in the admission chain. Without them a
// Space create would skip the Account's subjects and limit, so the Space storage refuses
// creates instead.
func (t *Tenancy) Enforced() bool { return t.account.Load() && t.limit.Load() }

// Set gives the plugins their Deps.
func (t *Tenancy) Set(d *Deps) { t.deps.Store(d) }

func (t *Tenancy) get() *Deps { return t.deps.Load() }

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

// base is what both plugins share: their Tenancy, ready once the server has set it.
type base struct {
	*admission.Handler
	tenancy *Tenancy
}

func newBase(ops ...admission.Operation) base {
	return base{Handler: admission.NewHandler(ops...)}
}

// SetTenancy receives the server's Tenancy.
func (b *base) SetTenancy(t *Tenancy) {
	b.tenancy = t
	b.SetReadyFunc(func() bool { return t.get() != nil })
}

// ValidateInitialization fails when the plugin has no Tenancy.
func (b *base) ValidateInitialization() error {
	if b.tenancy == nil {
		return errors.New("the Space admission plugins need the server's Tenancy initializer")
	}
	return nil
}

// deps waits, bounded, for the server to hand over the Deps.
func (b *base) deps() (*Deps, error) {
	if !b.WaitForReady() {
		return nil, apierrors.NewServiceUnavailable("not yet ready to admit Spaces")
	}
	return b.tenancy.get(), nil
}
