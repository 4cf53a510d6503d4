package quota

import corev1 "k8s.io/api/core/v1"

// Ledger is the usage of one quota as a batch of requests charges it, one request after
// another.
type Ledger struct {
	Name       string
	Hard, Used corev1.ResourceList
	// Asked is set once a decision rested on the usage, Changed once a request added to it.
	Asked, Changed bool
}

// Take charges one request to every ledger or to none: demands[i] is what it asks of
// ledgers[i], and the first refusal is the request's and leaves every usage as it was. With
// dryRun it only checks.
func Take(ledgers []*Ledger, demands []Demand, dryRun bool) error {
	for i, l := range ledgers {
		d := demands[i]
		if d.Err == nil && len(d.Requested) == 0 {
			continue
		}
		l.Asked = true
		if err := d.Fit(l.Name, l.Hard, l.Used, true); err != nil {
			return err
		}
	}
	if dryRun {
		return nil
	}
	for i, l := range ledgers {
		if d := demands[i]; len(d.Requested) > 0 {
			_ = d.Fit(l.Name, l.Hard, l.Used, false)
			l.Changed = true
		}
	}
	return nil
}
