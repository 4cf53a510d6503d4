package isolation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// conditionPrefix is the prefix of the taints Kubernetes puts on nodes for their
// conditions (not-ready, unreachable, memory-pressure, unschedulable...). Kubernetes adds
// tolerations of them to Pods itself (DefaultTolerationSeconds, the DaemonSet controller),
// and they say nothing about whose node it is.
const conditionPrefix = "node.kubernetes.io/"

func isConditionKey(key string) bool { return strings.HasPrefix(key, conditionPrefix) }

// tolerate adds add to the Pod's tolerations, and refuses every toleration of the Pod, but
// those in before, that tolerates a taint the Account's tolerations do not.
func (p *Policy) tolerate(spec *corev1.PodSpec, add, before []corev1.Toleration) field.ErrorList {
	allowed := p.Nodes.Tolerations
	var errs field.ErrorList
	for i := range spec.Tolerations {
		t := &spec.Tolerations[i]
		if isConditionKey(t.Key) || contains(before, t) || coveredBy(t, allowed) {
			continue
		}
		errs = append(errs, field.Forbidden(specPath.Child("tolerations").Index(i),
			fmt.Sprintf("%s tolerates taints that the Pods of account %s may not tolerate: only those of %s are allowed, and node.kubernetes.io/ condition taints",
				describe(t), p.Account, isoPath.Child("nodes", "tolerations"))))
	}
	for i := range add {
		if !contains(spec.Tolerations, &add[i]) {
			spec.Tolerations = append(spec.Tolerations, add[i])
		}
	}
	return errs
}

func contains(ts []corev1.Toleration, t *corev1.Toleration) bool {
	for i := range ts {
		if equality.Semantic.DeepEqual(ts[i], *t) {
			return true
		}
	}
	return false
}

// coveredBy reports whether every taint t tolerates, for as long as t tolerates it, is
// tolerated by one of allowed.
func coveredBy(t *corev1.Toleration, allowed []corev1.Toleration) bool {
	for i := range allowed {
		if covers(&allowed[i], t) {
			return true
		}
	}
	return false
}

// covers reports whether a tolerates every taint t tolerates, at least as long.
func covers(a, t *corev1.Toleration) bool {
	// Effect: empty tolerates every effect.
	if a.Effect != "" && a.Effect != t.Effect {
		return false
	}
	// Key: empty (with Exists) tolerates every key.
	if a.Key != "" && a.Key != t.Key {
		return false
	}
	// Value: Exists tolerates every value; any other operator (Equal, or a comparison)
	// only what the same operator on the same value tolerates.
	if a.Operator != corev1.TolerationOpExists && (operator(t) != operator(a) || a.Value != t.Value) {
		return false
	}
	// Time: a NoExecute toleration with seconds is evicted after them.
	if a.TolerationSeconds != nil {
		if t.TolerationSeconds == nil || *t.TolerationSeconds > *a.TolerationSeconds {
			return false
		}
	}
	return true
}

func operator(t *corev1.Toleration) corev1.TolerationOperator {
	if t.Operator == "" {
		return corev1.TolerationOpEqual
	}
	return t.Operator
}

func describe(t *corev1.Toleration) string {
	key := t.Key
	if key == "" {
		key = "every key"
	}
	op := operator(t)
	effect := string(t.Effect)
	if effect == "" {
		effect = "every effect"
	}
	s := fmt.Sprintf("the toleration of %s", key)
	switch op {
	case corev1.TolerationOpEqual:
		s += "=" + t.Value
	case corev1.TolerationOpExists:
	default:
		s += " " + string(op) + " " + t.Value
	}
	s += " (" + effect
	if t.TolerationSeconds != nil {
		s += fmt.Sprintf(", %ds", *t.TolerationSeconds)
	}
	return s + ")"
}
