package apiserver

import (
	"errors"

	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	"k8s.io/apiserver/pkg/registry/generic"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/accounts"
	spaceadmission "github.com/tenancy-apiserver/tenancy-apiserver/pkg/admission/space"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/config/account"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/status"
	tenancyregistry "github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy/reservation"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/scheme"
)

// Shared is what the admission plugins and the server's storages use alike: the Account
// storage, the access index and the reservation ledger. It is built at config time, before
// the admission chain, from the storage options and the authorizer, so that the Space
// plugins get their Deps through their initializer when the chain is built.
type Shared struct {
	Accounts      *account.REST
	AccountStatus *status.REST
	// Index is filled by the server's informers once it runs.
	Index        *access.Index
	Reservations *reservation.Ledger
	// SpaceAdmission hands the Space plugins their Deps and records whether the chain
	// holds both of them.
	SpaceAdmission *spaceadmission.Tenancy
}

// NewShared builds the Shared parts from the storage options and the authorizer, which the
// generic config has once its storage and authorization options are applied.
func NewShared(optsGetter generic.RESTOptionsGetter, authz authorizer.Authorizer) (*Shared, error) {
	if optsGetter == nil || authz == nil {
		return nil, errors.New("the shared tenancy parts need the storage and authorization config applied first")
	}
	accountStorage, accountStatus, err := account.NewREST(scheme.Scheme, optsGetter)
	if err != nil {
		return nil, err
	}
	ledger, err := reservation.New(optsGetter)
	if err != nil {
		return nil, err
	}
	// The index loads what exists in place and publishes it once the informers have synced.
	index := access.New(access.Options{RecheckAfter: clusterRecheckAfter, Load: true})
	allowed := tenancyregistry.Visibility{Authorizer: authz}.Allowed
	return &Shared{
		Accounts:      accountStorage,
		AccountStatus: accountStatus,
		Index:         index,
		Reservations:  ledger,
		SpaceAdmission: spaceadmission.NewTenancy(&spaceadmission.Deps{
			Accounts:     accounts.Reader{Storage: accountStorage, Scheme: scheme.Scheme},
			Index:        index,
			Reservations: ledger,
			Allowed:      allowed,
		}),
	}, nil
}

// AdmissionInitializers are the plugin initializers that hand the plugins the Shared parts.
func (s *Shared) AdmissionInitializers() []admission.PluginInitializer {
	return []admission.PluginInitializer{spaceadmission.Initializer{Tenancy: s.SpaceAdmission}}
}
