// Package accountquota stores config.kiosk.sh AccountQuotas in etcd.
package accountquota

import (
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/validation"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/config/resource"
)

// kind says how AccountQuotas are written.
var kind = resource.Kind[*config.AccountQuota]{
	PrepareForCreate:     func(q *config.AccountQuota) { q.Status = config.AccountQuotaStatus{} },
	KeepStatus:           func(q, old *config.AccountQuota) { q.Status = old.Status },
	KeepSpec:             func(q, old *config.AccountQuota) { q.Spec = old.Spec },
	SpecChanged:          func(q, old *config.AccountQuota) bool { return !equality.Semantic.DeepEqual(q.Spec, old.Spec) },
	Validate:             validation.ValidateAccountQuota,
	ValidateUpdate:       validation.ValidateAccountQuotaUpdate,
	ValidateStatusUpdate: validation.ValidateAccountQuotaStatusUpdate,
	Fields:               config.AccountQuotaFields,
}

// NewStrategy returns the strategy for writes of AccountQuotas.
func NewStrategy(typer runtime.ObjectTyper) resource.Strategy[*config.AccountQuota] {
	return resource.NewStrategy(typer, kind)
}
