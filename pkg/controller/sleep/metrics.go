package sleep

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

var (
	sleepingSpaces = metrics.NewGauge(&metrics.GaugeOpts{
		Namespace:      "tenancy",
		Subsystem:      "sleep",
		Name:           "spaces_sleeping",
		Help:           "Spaces asleep, as the sleep mode controller of the leader last saw them.",
		StabilityLevel: metrics.ALPHA,
	})
	savedReplicas = metrics.NewGauge(&metrics.GaugeOpts{
		Namespace:      "tenancy",
		Subsystem:      "sleep",
		Name:           "replicas_saved",
		Help:           "Replicas of Deployments, StatefulSets, ReplicaSets and ReplicationControllers that sleeping Spaces scaled to zero.",
		StabilityLevel: metrics.ALPHA,
	})
	transitions = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      "tenancy",
		Subsystem:      "sleep",
		Name:           "transitions_total",
		Help:           "Spaces the sleep mode controller put to sleep, woke or deleted, by action (sleep, wake, delete).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"action"})
	registerOnce sync.Once
)

// RegisterMetrics adds the controller's metrics to the server's /metrics.
func RegisterMetrics() {
	registerOnce.Do(func() { legacyregistry.MustRegister(sleepingSpaces, savedReplicas, transitions) })
}

// spaceMetrics is what one Space adds to the gauges.
type spaceMetrics struct {
	sleeping bool
	replicas int64
}

// record sets what Space name adds to the gauges; the zero value removes it.
func (c *Controller) record(name string, m spaceMetrics) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if m == (spaceMetrics{}) {
		delete(c.spaces, name)
	} else {
		c.spaces[name] = m
	}
	var sleeping, replicas int64
	for _, s := range c.spaces {
		if s.sleeping {
			sleeping++
		}
		replicas += s.replicas
	}
	sleepingSpaces.Set(float64(sleeping))
	savedReplicas.Set(float64(replicas))
}

// known reports whether Space name is asleep, as far as the controller knows.
func (c *Controller) known(name string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.spaces[name]
	return ok
}
