package space

import (
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/hub"
)

// clusterField is the field selector of a Space's cluster.
const clusterField = "spec.cluster"

// clusterSelector is what a request's selectors say of the cluster: the kiosk.sh/cluster
// label and the spec.cluster field, which only the hub sets, so a member is never asked
// about them.
type clusterSelector struct {
	any    bool
	labels []labels.Requirement
	fields []fields.Requirement
}

// matches reports whether the Spaces of cluster can match.
func (s clusterSelector) matches(cluster string) bool {
	set := labels.Set{}
	if cluster != hub.Local {
		set[configv1alpha1.ClusterLabel] = cluster
	}
	for _, r := range s.labels {
		if !r.Matches(set) {
			return false
		}
	}
	for _, r := range s.fields {
		switch r.Operator {
		case selection.Equals, selection.DoubleEquals:
			if r.Value != cluster {
				return false
			}
		case selection.NotEquals:
			if r.Value == cluster {
				return false
			}
		}
	}
	return true
}

// memberSelectors are the selectors without what clusterSelector took out of them.
type memberSelectors struct {
	label   labels.Selector
	field   fields.Selector
	options *metainternalversion.ListOptions
}

// list is the member's list options at rv.
func (m memberSelectors) list(rv string) metav1.ListOptions {
	o := metav1.ListOptions{ResourceVersion: rv}
	if m.label != nil && !m.label.Empty() {
		o.LabelSelector = m.label.String()
	}
	if m.field != nil && !m.field.Empty() {
		o.FieldSelector = m.field.String()
	}
	if m.options != nil && rv != "" && m.options.ResourceVersionMatch != "" {
		o.ResourceVersionMatch = m.options.ResourceVersionMatch
	}
	return o
}

// splitSelectors takes the cluster's requirements out of a request's selectors.
func splitSelectors(options *metainternalversion.ListOptions) (clusterSelector, memberSelectors) {
	var cs clusterSelector
	ms := memberSelectors{label: labels.Everything(), field: fields.Everything(), options: options}
	if options == nil {
		return cs, ms
	}
	if options.LabelSelector != nil {
		reqs, _ := options.LabelSelector.Requirements()
		rest := labels.NewSelector()
		for _, r := range reqs {
			if r.Key() == configv1alpha1.ClusterLabel {
				cs.labels, cs.any = append(cs.labels, r), true
				continue
			}
			rest = rest.Add(r)
		}
		ms.label = rest
	}
	if options.FieldSelector != nil {
		var rest []fields.Selector
		for _, r := range options.FieldSelector.Requirements() {
			if r.Field == clusterField {
				cs.fields, cs.any = append(cs.fields, r), true
				continue
			}
			if r.Operator == selection.NotEquals {
				rest = append(rest, fields.OneTermNotEqualSelector(r.Field, r.Value))
			} else {
				rest = append(rest, fields.OneTermEqualSelector(r.Field, r.Value))
			}
		}
		ms.field = fields.AndSelectors(rest...)
	}
	return cs, ms
}
