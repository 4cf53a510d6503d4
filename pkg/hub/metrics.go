package hub

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

var (
	// hits counts the lists of a member's Spaces answered from a caller's view, by cluster.
	hits = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      "tenancy",
		Subsystem:      "hub_view_cache",
		Name:           "hits_total",
		Help:           "Lists of a member's Spaces that the hub answered from the caller's view of the member, by cluster.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"cluster"})
	// misses counts the lists of a member's Spaces that asked the member because no view of
	// the caller was in sync, by cluster.
	misses = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      "tenancy",
		Subsystem:      "hub_view_cache",
		Name:           "misses_total",
		Help:           "Lists of a member's Spaces that the hub sent to the member because it had no view of the caller in sync with the member, by cluster.",
		StabilityLevel: metrics.ALPHA,
	}, []string{"cluster"})
	// cachedCallers is how many callers have views.
	cachedCallers = metrics.NewGauge(&metrics.GaugeOpts{
		Namespace:      "tenancy",
		Subsystem:      "hub_view_cache",
		Name:           "callers",
		Help:           "Callers whose views of the members the hub keeps.",
		StabilityLevel: metrics.ALPHA,
	})
	registerOnce sync.Once
)

// RegisterMetrics adds the view cache's metrics to the server's /metrics.
func RegisterMetrics() {
	registerOnce.Do(func() { legacyregistry.MustRegister(hits, misses, cachedCallers) })
}
