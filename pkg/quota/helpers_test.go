package quota

import (
	"fmt"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// usageOf is what obj, of resource gr, charges, read as the AccountQuota controller reads it.
func usageOf(gr schema.GroupResource, obj *unstructured.Unstructured) (corev1.ResourceList, error) {
	o, err := FromUnstructured(gr, obj)
	if err != nil {
		return nil, err
	}
	return o.Usage(), nil
}

// covers reports whether a quota with spec applies to obj, of resource gr.
// covers reports whether a quota with spec covers obj, read from the API and, as the
// webhook reads it, from its JSON; the two must agree.
func covers(spec corev1.ResourceQuotaSpec, gr schema.GroupResource, obj *unstructured.Unstructured) (bool, error) {
	o, err := FromUnstructured(gr, obj)
	if err != nil {
		return false, err
	}
	fromAPI, err := o.CoveredBy(spec)
	if err != nil {
		return false, err
	}
	raw, err := obj.MarshalJSON()
	if err != nil {
		return false, err
	}
	decoded, err := Decode(gr, raw)
	if err != nil {
		return false, err
	}
	fromJSON, err := decoded.CoveredBy(spec)
	if err != nil {
		return false, err
	}
	if fromAPI != fromJSON {
		return false, fmt.Errorf("covered %v read from the API, %v read from JSON", fromAPI, fromJSON)
	}
	return fromAPI, nil
}

// admit charges obj (created, or updated from old) to quotas one after the other, as the
// webhook's batch does: what each quota is asked, then whether it fits on that quota's
// usage. It returns the new status.total.used of each quota, nil for a quota the request
// does not change, or the first refusal.
func admit(quotas []Quota, gr schema.GroupResource, obj, old *unstructured.Unstructured) ([]corev1.ResourceList, error) {
	o, err := FromUnstructured(gr, obj)
	if err != nil {
		return nil, err
	}
	var before *Object
	if old != nil {
		if before, err = FromUnstructured(gr, old); err != nil {
			return nil, err
		}
	}
	c := NewCharge(o, before)
	ledgers := make([]*Ledger, len(quotas))
	demands := make([]Demand, len(quotas))
	for i, q := range quotas {
		ledgers[i] = &Ledger{Name: q.Name, Hard: q.Spec.Hard, Used: Total(q.Spec.Hard, q.Used)}
		demands[i] = c.DemandOf(q.Name, q.Spec)
	}
	if err := Take(ledgers, demands, false); err != nil {
		return nil, err
	}
	out := make([]corev1.ResourceList, len(quotas))
	for i, l := range ledgers {
		if l.Changed {
			out[i] = l.Used
		}
	}
	return out, nil
}
