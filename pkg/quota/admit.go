package quota

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"
)

// Quota is one AccountQuota as admission sees it.
type Quota struct {
	Name string
	Spec corev1.ResourceQuotaSpec
	// Used is status.total.used.
	Used corev1.ResourceList
}

// Error is an admission refusal, with the text of Kubernetes' own quota errors.
type Error struct{ Message string }

func (e *Error) Error() string { return e.Message }

// computeRequired are the resources a pod must state for every container when a quota
// covers them.
var computeRequired = []corev1.ResourceName{
	corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory,
	corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory,
}

func scopeSelectors(spec corev1.ResourceQuotaSpec) []corev1.ScopedResourceSelectorRequirement {
	var out []corev1.ScopedResourceSelectorRequirement
	for _, s := range spec.Scopes {
		out = append(out, corev1.ScopedResourceSelectorRequirement{ScopeName: s, Operator: corev1.ScopeSelectorOpExists})
	}
	if spec.ScopeSelector != nil {
		out = append(out, spec.ScopeSelector.MatchExpressions...)
	}
	return out
}

func podMatchesScope(pod *corev1.Pod, s corev1.ScopedResourceSelectorRequirement) (bool, error) {
	switch s.ScopeName {
	case corev1.ResourceQuotaScopeTerminating:
		return pod.Spec.ActiveDeadlineSeconds != nil && *pod.Spec.ActiveDeadlineSeconds >= 0, nil
	case corev1.ResourceQuotaScopeNotTerminating:
		return pod.Spec.ActiveDeadlineSeconds == nil || *pod.Spec.ActiveDeadlineSeconds < 0, nil
	case corev1.ResourceQuotaScopeBestEffort:
		return bestEffort(pod), nil
	case corev1.ResourceQuotaScopeNotBestEffort:
		return !bestEffort(pod), nil
	case corev1.ResourceQuotaScopePriorityClass:
		switch s.Operator {
		case corev1.ScopeSelectorOpExists:
			return pod.Spec.PriorityClassName != "", nil
		case corev1.ScopeSelectorOpDoesNotExist:
			return pod.Spec.PriorityClassName == "", nil
		case corev1.ScopeSelectorOpIn:
			return slices.Contains(s.Values, pod.Spec.PriorityClassName), nil
		case corev1.ScopeSelectorOpNotIn:
			return !slices.Contains(s.Values, pod.Spec.PriorityClassName), nil
		}
		return false, fmt.Errorf("unknown scope selector operator %q", s.Operator)
	case corev1.ResourceQuotaScopeCrossNamespacePodAffinity:
		return crossNamespaceAffinity(pod), nil
	}
	return false, fmt.Errorf("unknown quota scope %q", s.ScopeName)
}

func bestEffort(pod *corev1.Pod) bool {
	all := append(slices.Clone(pod.Spec.InitContainers), pod.Spec.Containers...)
	for _, c := range all {
		for _, list := range []corev1.ResourceList{c.Resources.Requests, c.Resources.Limits} {
			for name := range list {
				if name == corev1.ResourceCPU || name == corev1.ResourceMemory {
					return false
				}
			}
		}
	}
	return true
}

func crossNamespaceAffinity(pod *corev1.Pod) bool {
	a := pod.Spec.Affinity
	if a == nil {
		return false
	}
	terms := func(required []corev1.PodAffinityTerm, preferred []corev1.WeightedPodAffinityTerm) bool {
		for _, t := range required {
			if len(t.Namespaces) > 0 || t.NamespaceSelector != nil {
				return true
			}
		}
		for _, t := range preferred {
			if len(t.PodAffinityTerm.Namespaces) > 0 || t.PodAffinityTerm.NamespaceSelector != nil {
				return true
			}
		}
		return false
	}
	return (a.PodAffinity != nil && terms(a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution, a.PodAffinity.PreferredDuringSchedulingIgnoredDuringExecution)) ||
		(a.PodAntiAffinity != nil && terms(a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution, a.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution))
}

// mustSpecify refuses a pod that leaves out a compute resource a covering quota limits.
func mustSpecify(hard corev1.ResourceList, pod *corev1.Pod) error {
	missing := map[string][]string{}
	check := func(c corev1.Container) {
		for _, name := range computeRequired {
			if _, limited := hard[name]; !limited {
				continue
			}
			list, key := c.Resources.Requests, name
			switch name {
			case corev1.ResourceRequestsCPU:
				key = corev1.ResourceCPU
			case corev1.ResourceRequestsMemory:
				key = corev1.ResourceMemory
			case corev1.ResourceLimitsCPU:
				list, key = c.Resources.Limits, corev1.ResourceCPU
			case corev1.ResourceLimitsMemory:
				list, key = c.Resources.Limits, corev1.ResourceMemory
			}
			if _, ok := list[key]; !ok {
				missing[string(name)] = append(missing[string(name)], c.Name)
			}
		}
	}
	for _, c := range pod.Spec.Containers {
		check(c)
	}
	for _, c := range pod.Spec.InitContainers {
		check(c)
	}
	if len(missing) == 0 {
		return nil
	}
	names := make([]string, 0, len(missing))
	for name := range missing {
		names = append(names, name)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, name := range names {
		containers := missing[name]
		sort.Strings(containers)
		parts = append(parts, fmt.Sprintf("%s for: %s", name, strings.Join(slices.Compact(containers), ",")))
	}
	return fmt.Errorf("must specify %s", strings.Join(parts, "; "))
}

// Charge is one request as admission charges it: the object, and what it adds to usage.
type Charge struct {
	obj *Object
	// old is the object before an update, nil for creates.
	old   *Object
	delta corev1.ResourceList
	// create is set for creates: must-specify applies to the pods they make.
	create bool
}

// NewCharge is the charge of creating obj, or of updating old to obj. Updates charge only
// pods, services and persistent volume claims, by what they use more than before: admission
// never gives usage back (a lower usage is credited only by the quota controller's recount),
// so that no AdmissionReview can lower a quota's usage.
func NewCharge(obj, old *Object) *Charge {
	if old == nil {
		return &Charge{obj: obj, delta: obj.Usage(), create: true}
	}
	switch obj.GR {
	case podsResource, servicesResource, claimsResource:
		return &Charge{obj: obj, old: old, delta: quotav1.SubtractWithNonNegativeResult(obj.Usage(), old.Usage())}
	}
	return &Charge{obj: obj, old: old}
}

// Demand is what one charge asks of one quota, decided from the quota's spec alone: whether
// the quota covers it, must-specify, and the resources it requests. Only Fit needs the
// quota's usage, so a Demand can be worked out before the usage is read.
type Demand struct {
	// Requested is what the charge adds; empty when the quota is not concerned.
	Requested corev1.ResourceList
	// Err is a refusal that no usage changes (must-specify).
	Err error
}

// DemandOf is what c asks of quota name with spec.
func (c *Charge) DemandOf(name string, spec corev1.ResourceQuotaSpec) Demand {
	covers, err := c.obj.CoveredBy(spec)
	if err != nil {
		return Demand{Err: err}
	}
	if !covers {
		return Demand{}
	}
	if c.old != nil && c.obj.GR == podsResource {
		// An update that moves the object into the quota's scope is charged in full, as
		// Kubernetes' ResourceQuota charges it.
		coveredBefore, err := c.old.CoveredBy(spec)
		if err != nil {
			return Demand{Err: err}
		}
		if !coveredBefore {
			return Demand{Requested: quotav1.RemoveZeros(quotav1.Mask(c.obj.Usage(), quotav1.ResourceNames(spec.Hard)))}
		}
	}
	if len(c.delta) == 0 {
		return Demand{}
	}
	if c.create && c.obj.pod != nil {
		if err := mustSpecify(spec.Hard, c.obj.pod); err != nil {
			return Demand{Err: &Error{Message: fmt.Sprintf("failed quota: %s: %v", name, err)}}
		}
	}
	return Demand{Requested: c.Requested(spec.Hard)}
}

// Fit charges d to used, the usage of quota name as Total returns it, in place; with dryRun
// it only checks. It returns an *Error with Kubernetes' text when hard would be exceeded.
func (d Demand) Fit(name string, hard, used corev1.ResourceList, dryRun bool) error {
	if d.Err != nil {
		return d.Err
	}
	var exceeded []corev1.ResourceName
	for r, q := range d.Requested {
		next := used[r].DeepCopy()
		next.Add(q)
		if limit, ok := hard[r]; ok && next.Cmp(limit) > 0 {
			exceeded = append(exceeded, r)
		}
	}
	if len(exceeded) > 0 {
		return &Error{Message: fmt.Sprintf("exceeded quota: %s, requested: %s, used: %s, limited: %s", name,
			pretty(quotav1.Mask(d.Requested, exceeded)), pretty(quotav1.Mask(used, exceeded)), pretty(quotav1.Mask(hard, exceeded)))}
	}
	if dryRun {
		return nil
	}
	for r, q := range d.Requested {
		sum := used[r].DeepCopy()
		sum.Add(q)
		used[r] = sum
	}
	return nil
}

// Requested is what c adds to the resources hard limits.
func (c *Charge) Requested(hard corev1.ResourceList) corev1.ResourceList {
	return quotav1.RemoveZeros(quotav1.Mask(c.delta, quotav1.ResourceNames(hard)))
}

func pretty(list corev1.ResourceList) string {
	keys := make([]string, 0, len(list))
	for k := range list {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		q := list[corev1.ResourceName(k)]
		parts = append(parts, k+"="+q.String())
	}
	return strings.Join(parts, ",")
}

// Total sums usages, masked to the resources hard limits.
func Total(hard corev1.ResourceList, usages ...corev1.ResourceList) corev1.ResourceList {
	total := corev1.ResourceList{}
	for name := range hard {
		total[name] = *resourceZero(hard[name])
	}
	for _, u := range usages {
		total = quotav1.Add(total, quotav1.Mask(u, quotav1.ResourceNames(hard)))
	}
	return total
}
