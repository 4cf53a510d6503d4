package pod

import (
	"net/http"
	"strings"
	"sync"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

var (
	// admissionDuration is the time the webhook takes per request, by operation and
	// result: allowed, mutated, denied or error.
	admissionDuration = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace:      "tenancy",
		Subsystem:      "pod_isolation",
		Name:           "admission_duration_seconds",
		Help:           "Time the Pod isolation webhook takes to decide a request, by operation and result.",
		Buckets:        []float64{0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1},
		StabilityLevel: metrics.ALPHA,
	}, []string{"operation", "result"})
	// refusals counts the Pods refused, by reason: the kind of field that would have left
	// the Account's isolation.
	refusals = metrics.NewCounterVec(&metrics.CounterOpts{
		Namespace:      "tenancy",
		Subsystem:      "pod_isolation",
		Name:           "refusals_total",
		Help:           "Pod requests the Pod isolation webhook refused, by reason (node_selector, node_affinity, node_name, toleration, priority_class, image_pull, not_ready, error).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"reason"})
	registerOnce sync.Once
)

// RegisterMetrics adds the webhook's metrics to the server's /metrics.
func RegisterMetrics() {
	registerOnce.Do(func() {
		legacyregistry.MustRegister(admissionDuration, refusals)
	})
}

func observe(operation, subresource string, resp *admissionv1.AdmissionResponse, reason string, took time.Duration) {
	if subresource != "" {
		operation += "/" + subresource
	}
	result := "allowed"
	switch {
	case !resp.Allowed && resp.Result != nil && resp.Result.Code != http.StatusForbidden:
		result = "error"
	case !resp.Allowed:
		result = "denied"
	case len(resp.Patch) > 0:
		result = "mutated"
	}
	admissionDuration.WithLabelValues(operation, result).Observe(took.Seconds())
	if !resp.Allowed {
		refusals.WithLabelValues(reason).Inc()
	}
}

// fieldReasons name the refusals by the field they begin with.
var fieldReasons = []struct{ prefix, reason string }{
	{"spec.nodeSelector", "node_selector"},
	{"spec.affinity", "node_affinity"},
	{"spec.nodeName", "node_name"},
	{"spec.tolerations", "toleration"},
	{"spec.priorityClassName", "priority_class"},
	{"spec.containers", "image_pull"},
	{"spec.initContainers", "image_pull"},
}

// reasonOf is the reason of the first error of errs.
func reasonOf(errs field.ErrorList) string {
	for _, fr := range fieldReasons {
		if strings.HasPrefix(errs[0].Field, fr.prefix) {
			return fr.reason
		}
	}
	return "other"
}
