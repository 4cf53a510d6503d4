// Package cluster stores config.kiosk.sh Clusters, the member clusters of a hub, in etcd.
package cluster

import (
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/validation"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/config/resource"
)

// kind says how Clusters are written: the spec by admins, the status by the Cluster
// controller through /status.
var kind = resource.Kind[*config.Cluster]{
	PrepareForCreate:     func(c *config.Cluster) { c.Status = config.ClusterStatus{} },
	KeepStatus:           func(c, old *config.Cluster) { c.Status = old.Status },
	KeepSpec:             func(c, old *config.Cluster) { c.Spec = old.Spec },
	SpecChanged:          func(c, old *config.Cluster) bool { return !equality.Semantic.DeepEqual(c.Spec, old.Spec) },
	Validate:             validation.ValidateCluster,
	ValidateUpdate:       validation.ValidateClusterUpdate,
	ValidateStatusUpdate: validation.ValidateClusterStatusUpdate,
}

// NewStrategy returns the strategy for writes of Clusters.
func NewStrategy(typer runtime.ObjectTyper) resource.Strategy[*config.Cluster] {
	return resource.NewStrategy(typer, kind)
}
