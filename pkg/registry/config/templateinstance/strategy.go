// Package templateinstance stores config.kiosk.sh TemplateInstances in etcd.
package templateinstance

import (
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/validation"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/config/resource"
)

// kind says how TemplateInstances are written. A new instance is Pending and records its
// requester.
var kind = resource.Kind[*config.TemplateInstance]{
	Namespaced: true,
	PrepareForCreate: func(ti *config.TemplateInstance) {
		ti.Status = config.TemplateInstanceStatus{Status: config.TemplateInstanceStatusPending}
	},
	KeepStatus:           func(ti, old *config.TemplateInstance) { ti.Status = old.Status },
	KeepSpec:             func(ti, old *config.TemplateInstance) { ti.Spec = old.Spec },
	SpecChanged:          func(ti, old *config.TemplateInstance) bool { return !equality.Semantic.DeepEqual(ti.Spec, old.Spec) },
	Validate:             validation.ValidateTemplateInstance,
	ValidateUpdate:       validation.ValidateTemplateInstanceUpdate,
	ValidateStatusUpdate: validation.ValidateTemplateInstanceStatusUpdate,
	Fields:               config.TemplateInstanceFields,
	ServerAnnotations:    []resource.ServerAnnotation{requester},
}

// NewStrategy returns the strategy for writes of TemplateInstances.
func NewStrategy(typer runtime.ObjectTyper) resource.Strategy[*config.TemplateInstance] {
	return resource.NewStrategy(typer, kind)
}
