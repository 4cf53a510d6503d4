package quota

import (
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

// ChargeFieldManager names the webhook's charges in the quotas' managed fields. The recount
// reads its timestamps to leave fresh charges alone.
const ChargeFieldManager = "tenancy-apiserver-admission"

// ChargedRecently reports whether the webhook charged q within window: usage counted from
// the objects may not include what it admitted then.
func ChargedRecently(q *configv1alpha1.AccountQuota, window time.Duration, now time.Time) bool {
	for _, m := range q.ManagedFields {
		if m.Manager == ChargeFieldManager && m.Time != nil && now.Sub(m.Time.Time) < window {
			return true
		}
	}
	return false
}

// Count adds to used what obj uses of what spec limits, when spec covers it.
func Count(spec corev1.ResourceQuotaSpec, used corev1.ResourceList, obj *Object) corev1.ResourceList {
	covers, err := obj.CoveredBy(spec)
	if err != nil || !covers {
		return used
	}
	return quotav1.Add(used, quotav1.Mask(obj.Usage(), quotav1.ResourceNames(spec.Hard)))
}

// Recounted is the usage a recount writes: what the objects use (counted), or, while the
// webhook charged recently, at least what it charged (stored), since the objects it admitted
// may not be seen yet.
func Recounted(hard, counted, stored corev1.ResourceList, recent bool) corev1.ResourceList {
	if !recent {
		return counted
	}
	return quotav1.Max(counted, Total(hard, stored))
}

// ResourcesFor are the kinds of object whose usage the hard limits name.
func ResourcesFor(hard corev1.ResourceList) []schema.GroupResource {
	set := map[schema.GroupResource]bool{}
	for name := range hard {
		n := string(name)
		switch {
		case n == "pods" || n == "cpu" || n == "memory" || n == "ephemeral-storage" ||
			strings.HasPrefix(n, "requests.") && !strings.HasPrefix(n, "requests.storage") ||
			strings.HasPrefix(n, "limits."):
			set[schema.GroupResource{Resource: "pods"}] = true
		case strings.HasPrefix(n, "services"):
			set[schema.GroupResource{Resource: "services"}] = true
		case n == "persistentvolumeclaims" || n == "requests.storage" || strings.Contains(n, ".storageclass.storage.k8s.io/"):
			set[schema.GroupResource{Resource: "persistentvolumeclaims"}] = true
		case n == "configmaps" || n == "secrets" || n == "replicationcontrollers" || n == "resourcequotas":
			set[schema.GroupResource{Resource: n}] = true
		case strings.HasPrefix(n, "count/"):
			set[schema.ParseGroupResource(strings.TrimPrefix(n, "count/"))] = true
		}
	}
	out := make([]schema.GroupResource, 0, len(set))
	for gr := range set {
		out = append(out, gr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}
