package activity

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

// Sources of activity, in the activity metric.
const (
	SourceWebhook  = "webhook"
	SourceSpaceGet = "space_get"
	SourceAudit    = "audit"
)

var (
	activities = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      "tenancy",
		Subsystem:      "sleep",
		Name:           "activity_total",
		Help:           "Requests counted as activity in Spaces with sleep mode on, by source (webhook, space_get, audit).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"source"})
	webhookDuration = metrics.NewHistogram(&metrics.HistogramOpts{
		Namespace:      "tenancy",
		Subsystem:      "sleep",
		Name:           "activity_webhook_duration_seconds",
		Help:           "Time the activity webhook takes to answer a request.",
		Buckets:        []float64{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05},
		StabilityLevel: metrics.ALPHA,
	})
	registerOnce sync.Once
)

// RegisterMetrics adds the activity metrics to the server's /metrics.
func RegisterMetrics() {
	registerOnce.Do(func() { legacyregistry.MustRegister(activities, webhookDuration) })
}

func observed(source string) { activities.WithLabelValues(source).Inc() }
