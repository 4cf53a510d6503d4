package accounts

import (
	"encoding/json"
	"maps"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

// The namespace keys spec.isolation sets on every Space of an Account.
const (
	// PodSecurityLabelPrefix is the prefix of the Pod Security Admission labels:
	// <prefix><mode> and <prefix><mode>-version for the modes enforce, warn and audit.
	PodSecurityLabelPrefix = "pod-security.kubernetes.io/"
	// NodeSelectorAnnotation is the PodNodeSelector admission plugin's node selector of the
	// namespace's Pods, as "k=v,k2=v2".
	NodeSelectorAnnotation = "scheduler.alpha.kubernetes.io/node-selector"
	// DefaultTolerationsAnnotation is the PodTolerationRestriction admission plugin's
	// tolerations added to the namespace's Pods, as a JSON array.
	DefaultTolerationsAnnotation = "scheduler.alpha.kubernetes.io/defaultTolerations"
	// TolerationsWhitelistAnnotation is the PodTolerationRestriction admission plugin's
	// tolerations the namespace's Pods may have, as a JSON array.
	TolerationsWhitelistAnnotation = "scheduler.alpha.kubernetes.io/tolerationsWhitelist"
)

// nodeConditionTaints are the taints Kubernetes puts on nodes for their conditions: Pods
// tolerate them (DefaultTolerationSeconds adds not-ready and unreachable to every Pod), so
// the tolerations whitelist of an isolated Space allows them besides the Account's own.
var nodeConditionTaints = []string{
	corev1.TaintNodeNotReady, corev1.TaintNodeUnreachable, corev1.TaintNodeUnschedulable,
	corev1.TaintNodeMemoryPressure, corev1.TaintNodeDiskPressure, corev1.TaintNodePIDPressure,
	corev1.TaintNodeNetworkUnavailable,
}

// SpaceIsolation is what an Account's spec.isolation sets on the namespace of each of its
// Spaces: the Pod Security Admission labels and the PodNodeSelector and
// PodTolerationRestriction annotations.
type SpaceIsolation struct {
	Labels      map[string]string
	Annotations map[string]string
}

// Isolation returns what account's spec.isolation sets on its Spaces' namespaces. Warn and
// audit default to the enforce level, versions to "latest".
func Isolation(account *configv1alpha1.Account) SpaceIsolation {
	out := SpaceIsolation{Labels: map[string]string{}, Annotations: map[string]string{}}
	iso := &account.Spec.Isolation
	if ps := iso.PodSecurity; ps != nil && ps.Enforce != "" {
		version := ps.Version
		if version == "" {
			version = "latest"
		}
		for mode, level := range map[string]configv1alpha1.PodSecurityLevel{"enforce": ps.Enforce, "warn": ps.Warn, "audit": ps.Audit} {
			if level == "" {
				level = ps.Enforce
			}
			out.Labels[PodSecurityLabelPrefix+mode] = string(level)
			out.Labels[PodSecurityLabelPrefix+mode+"-version"] = version
		}
	}
	if n := iso.Nodes; n != nil {
		if len(n.NodeSelector) > 0 {
			out.Annotations[NodeSelectorAnnotation] = nodeSelector(n.NodeSelector)
		}
		if len(n.Tolerations) > 0 {
			out.Annotations[DefaultTolerationsAnnotation] = tolerationsJSON(n.Tolerations)
		}
		allowed := append([]corev1.Toleration(nil), n.Tolerations...)
		for _, key := range nodeConditionTaints {
			allowed = append(allowed, corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists})
		}
		out.Annotations[TolerationsWhitelistAnnotation] = tolerationsJSON(allowed)
	}
	return out
}

// nodeSelector renders a node selector as PodNodeSelector reads it, keys sorted.
func nodeSelector(sel map[string]string) string {
	keys := make([]string, 0, len(sel))
	for k := range sel {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := make([]string, 0, len(keys))
	for _, k := range keys {
		pairs = append(pairs, k+"="+sel[k])
	}
	return strings.Join(pairs, ",")
}

func tolerationsJSON(t []corev1.Toleration) string {
	// A slice of plain structs always marshals.
	b, _ := json.Marshal(t)
	return string(b)
}

// ApplyIsolation sets on ns what want says, removes the keys the server set before (listed in
// IsolationKeysAnnotation) that want no longer sets, and records the keys it set. It reports
// whether ns changed. Keys of the same names set by others are overwritten while want sets
// them, and left alone otherwise.
func ApplyIsolation(ns *corev1.Namespace, want SpaceIsolation) bool {
	labels, annotations := maps.Clone(ns.Labels), maps.Clone(ns.Annotations)
	if labels == nil {
		labels = map[string]string{}
	}
	if annotations == nil {
		annotations = map[string]string{}
	}
	for _, key := range isolationKeys(annotations[configv1alpha1.IsolationKeysAnnotation]) {
		kind, name, _ := strings.Cut(key, "/")
		switch kind {
		case "labels":
			if _, ok := want.Labels[name]; !ok {
				delete(labels, name)
			}
		case "annotations":
			if _, ok := want.Annotations[name]; !ok {
				delete(annotations, name)
			}
		}
	}
	var set []string
	for k, v := range want.Labels {
		labels[k] = v
		set = append(set, "labels/"+k)
	}
	for k, v := range want.Annotations {
		annotations[k] = v
		set = append(set, "annotations/"+k)
	}
	sort.Strings(set)
	if len(set) > 0 {
		annotations[configv1alpha1.IsolationKeysAnnotation] = strings.Join(set, ",")
	} else {
		delete(annotations, configv1alpha1.IsolationKeysAnnotation)
	}
	// maps.Equal holds a nil map and an empty one equal.
	if maps.Equal(labels, ns.Labels) && maps.Equal(annotations, ns.Annotations) {
		return false
	}
	if len(labels) == 0 {
		labels = nil
	}
	if len(annotations) == 0 {
		annotations = nil
	}
	ns.Labels, ns.Annotations = labels, annotations
	return true
}

func isolationKeys(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}
