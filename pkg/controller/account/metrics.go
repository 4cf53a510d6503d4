package account

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

var (
	// isolationWrites counts the writes that put an Account's spec.isolation on its Spaces,
	// by object (namespace, networkpolicy) and operation (create, update, delete). Updates
	// after the first one of a Space are set-backs: someone changed what the Account sets.
	isolationWrites = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      "tenancy",
		Subsystem:      "account",
		Name:           "isolation_writes_total",
		Help:           "Writes of the Account controller that put spec.isolation on Spaces (Pod Security labels and node annotations of the namespace, the isolation NetworkPolicy), by object and operation.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"object", "operation"})
	registerOnce sync.Once
)

// RegisterMetrics adds the controller's metrics to the server's /metrics.
func RegisterMetrics() {
	registerOnce.Do(func() { legacyregistry.MustRegister(isolationWrites) })
}
