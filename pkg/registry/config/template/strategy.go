// Package template stores config.kiosk.sh Templates in etcd.
package template

import (
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/validation"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/config/resource"
)

// kind says how Templates are written. Templates have no status.
var kind = resource.Kind[*config.Template]{
	SpecChanged: func(t, old *config.Template) bool {
		return !equality.Semantic.DeepEqual(t.Resources, old.Resources) ||
			!equality.Semantic.DeepEqual(t.Parameters, old.Parameters) || t.AllowClusterScoped != old.AllowClusterScoped
	},
	Validate:       validation.ValidateTemplate,
	ValidateUpdate: validation.ValidateTemplateUpdate,
}

// NewStrategy returns the strategy for writes of Templates.
func NewStrategy(typer runtime.ObjectTyper) resource.Strategy[*config.Template] {
	return resource.NewStrategy(typer, kind)
}
