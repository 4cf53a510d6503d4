package validation

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
)

// PodSecurityLabelPrefix is the prefix of the Pod Security Admission namespace labels.
const PodSecurityLabelPrefix = "pod-security.kubernetes.io/"

var (
	podSecurityLevels = sets.New(config.PodSecurityPrivileged, config.PodSecurityBaseline, config.PodSecurityRestricted)
	networkModes      = sets.New(config.NetworkIsolationNone, config.NetworkIsolationAccount, config.NetworkIsolationSpace)
	tolerationEffects = sets.New(corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute)
	// podSecurityVersion is what Pod Security Admission accepts as a version label.
	podSecurityVersion = regexp.MustCompile(`^(latest|v1\.(0|[1-9][0-9]*))$`)
)

// validateIsolation checks spec.isolation; spaceLabels are the labels of
// spec.space.spaceTemplate, which may not set what isolation sets.
func validateIsolation(iso *config.AccountIsolation, spaceLabels map[string]string, p *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if ps := iso.PodSecurity; ps != nil {
		pp := p.Child("podSecurity")
		allErrs = append(allErrs, validateLevel(ps.Enforce, true, pp.Child("enforce"))...)
		allErrs = append(allErrs, validateLevel(ps.Warn, false, pp.Child("warn"))...)
		allErrs = append(allErrs, validateLevel(ps.Audit, false, pp.Child("audit"))...)
		if ps.Version != "" && !podSecurityVersion.MatchString(ps.Version) {
			allErrs = append(allErrs, field.Invalid(pp.Child("version"), ps.Version, `must be "latest" or a version such as "v1.30"`))
		}
		for k := range spaceLabels {
			if strings.HasPrefix(k, PodSecurityLabelPrefix) {
				allErrs = append(allErrs, field.Forbidden(field.NewPath("spec", "space", "spaceTemplate", "metadata", "labels").Key(k),
					"is set from spec.isolation.podSecurity and may not also be given here"))
			}
		}
	}
	if n := iso.Nodes; n != nil {
		np := p.Child("nodes")
		allErrs = append(allErrs, metav1validation.ValidateLabels(n.NodeSelector, np.Child("nodeSelector"))...)
		for i := range n.Tolerations {
			allErrs = append(allErrs, validateToleration(&n.Tolerations[i], np.Child("tolerations").Index(i))...)
		}
	}
	if pc := iso.PriorityClasses; pc != nil {
		pp := p.Child("priorityClasses")
		seen := sets.New[string]()
		for i, name := range pc.Allowed {
			ip := pp.Child("allowed").Index(i)
			for _, msg := range apivalidation.NameIsDNSSubdomain(name, false) {
				allErrs = append(allErrs, field.Invalid(ip, name, msg))
			}
			if seen.Has(name) {
				allErrs = append(allErrs, field.Duplicate(ip, name))
			}
			seen.Insert(name)
		}
		if pc.Default != "" && !seen.Has(pc.Default) {
			allErrs = append(allErrs, field.Invalid(pp.Child("default"), pc.Default, "must be one of spec.isolation.priorityClasses.allowed"))
		}
	}
	if m := iso.Network.Mode; m != "" && !networkModes.Has(m) {
		allErrs = append(allErrs, field.NotSupported(p.Child("network", "mode"), m, sets.List(networkModes)))
	}
	return allErrs
}

func validateLevel(l config.PodSecurityLevel, required bool, p *field.Path) field.ErrorList {
	if l == "" && !required {
		return nil
	}
	if l == "" {
		return field.ErrorList{field.Required(p, "privileged, baseline or restricted")}
	}
	if !podSecurityLevels.Has(l) {
		return field.ErrorList{field.NotSupported(p, l, sets.List(podSecurityLevels))}
	}
	return nil
}

// validateToleration checks a toleration as the core API does for Pods.
func validateToleration(t *corev1.Toleration, p *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if t.Key != "" {
		for _, msg := range validation.IsQualifiedName(t.Key) {
			allErrs = append(allErrs, field.Invalid(p.Child("key"), t.Key, msg))
		}
	}
	switch t.Operator {
	case corev1.TolerationOpEqual, "":
		if t.Key == "" {
			allErrs = append(allErrs, field.Invalid(p.Child("operator"), t.Operator, "must be Exists when key is empty"))
		}
		for _, msg := range validation.IsValidLabelValue(t.Value) {
			allErrs = append(allErrs, field.Invalid(p.Child("value"), t.Value, msg))
		}
	case corev1.TolerationOpExists:
		if t.Value != "" {
			allErrs = append(allErrs, field.Invalid(p.Child("value"), t.Value, "must be empty when operator is Exists"))
		}
	default:
		allErrs = append(allErrs, field.NotSupported(p.Child("operator"), t.Operator, []corev1.TolerationOperator{corev1.TolerationOpEqual, corev1.TolerationOpExists}))
	}
	if t.Effect != "" && !tolerationEffects.Has(t.Effect) {
		allErrs = append(allErrs, field.NotSupported(p.Child("effect"), t.Effect, sets.List(tolerationEffects)))
	}
	if t.TolerationSeconds != nil && t.Effect != corev1.TaintEffectNoExecute {
		allErrs = append(allErrs, field.Invalid(p.Child("effect"), t.Effect, fmt.Sprintf("must be %s when tolerationSeconds is set", corev1.TaintEffectNoExecute)))
	}
	return allErrs
}
