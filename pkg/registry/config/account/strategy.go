// Package account stores config.kiosk.sh Accounts in etcd.
package account

import (
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/validation"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/config/resource"
)

// kind says how Accounts are written.
var kind = resource.Kind[*config.Account]{
	PrepareForCreate:     func(a *config.Account) { a.Status = config.AccountStatus{} },
	KeepStatus:           func(a, old *config.Account) { a.Status = old.Status },
	KeepSpec:             func(a, old *config.Account) { a.Spec = old.Spec },
	SpecChanged:          func(a, old *config.Account) bool { return !equality.Semantic.DeepEqual(a.Spec, old.Spec) },
	Validate:             validation.ValidateAccount,
	ValidateUpdate:       validation.ValidateAccountUpdate,
	ValidateStatusUpdate: validation.ValidateAccountStatusUpdate,
}

// NewStrategy returns the strategy for writes of Accounts.
func NewStrategy(typer runtime.ObjectTyper) resource.Strategy[*config.Account] {
	return resource.NewStrategy(typer, kind)
}
