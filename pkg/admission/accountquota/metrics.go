package accountquota

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
)

var (
	// admissionDuration is the time the webhook takes per request, by result: allowed,
	// denied or error.
	admissionDuration = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace:      "tenancy",
		Subsystem:      "accountquota",
		Name:           "admission_duration_seconds",
		Help:           "Time the AccountQuota webhook takes to decide a request, by result.",
		Buckets:        []float64{0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5},
		StabilityLevel: metrics.ALPHA,
	}, []string{"result"})
	// conflicts counts batches decided again because another writer changed a quota first.
	conflicts = metrics.NewCounter(&metrics.CounterOpts{
		Namespace:      "tenancy",
		Subsystem:      "accountquota",
		Name:           "charge_conflicts_total",
		Help:           "Batches of charges decided again because another writer changed one of the Account's AccountQuotas first.",
		StabilityLevel: metrics.ALPHA,
	})
	// retryCount counts batches tried again after a storage error that may pass.
	retryCount = metrics.NewCounter(&metrics.CounterOpts{
		Namespace:      "tenancy",
		Subsystem:      "accountquota",
		Name:           "charge_retries_total",
		Help:           "Batches of charges tried again after a storage error that may pass (etcd unavailable, electing a leader, a timeout).",
		StabilityLevel: metrics.ALPHA,
	})
	// batchRequests is how many requests each batch decides.
	batchRequests = metrics.NewHistogram(&metrics.HistogramOpts{
		Namespace:      "tenancy",
		Subsystem:      "accountquota",
		Name:           "batch_requests",
		Help:           "Requests decided together in one batch of an Account's charges.",
		Buckets:        []float64{1, 2, 5, 10, 25, 50, 100, 250, 500},
		StabilityLevel: metrics.ALPHA,
	})
	// transactionDuration is the time each batch's etcd transaction takes, by result:
	// stored, lost (another writer came first) or error.
	transactionDuration = metrics.NewHistogramVec(&metrics.HistogramOpts{
		Namespace:      "tenancy",
		Subsystem:      "accountquota",
		Name:           "transaction_duration_seconds",
		Help:           "Time the etcd transaction of a batch of charges takes, by result.",
		Buckets:        []float64{0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 1},
		StabilityLevel: metrics.ALPHA,
	}, []string{"result"})
	registerOnce sync.Once
)

// RegisterMetrics adds the webhook's metrics to the server's /metrics.
func RegisterMetrics() {
	registerOnce.Do(func() {
		legacyregistry.MustRegister(admissionDuration, conflicts, retryCount, batchRequests, transactionDuration)
	})
}
