package isolation

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

// prioritize gives a Pod that names no PriorityClass the Account's default, and refuses a
// Pod that names a class the Account does not allow.
//
// kube-apiserver's Priority admission runs before the webhooks: it has already set
// spec.priority (and spec.preemptionPolicy) from the class the Pod names, and a Pod that
// names none has been given the cluster's globalDefault class, if there is one. After a
// webhook changed the Pod it runs again and refuses a spec.priority that is not the class's,
// so the default sets both. So a Pod
// naming the globalDefault class is taken to name none: it gets the Account's default when
// there is one, and is admitted with the cluster's default otherwise (any Pod gets that
// class by naming none, so naming it gains nothing).
func (p *Policy) prioritize(spec *corev1.PodSpec, pc *configv1alpha1.AccountPriorityClasses, c Cluster) (field.ErrorList, error) {
	path := specPath.Child("priorityClassName")
	named := spec.PriorityClassName
	namesNone := named == ""
	if !namesNone && !slices.Contains(pc.Allowed, named) {
		class, err := c.PriorityClass(named)
		if err != nil {
			return nil, fmt.Errorf("reading PriorityClass %s: %w", named, err)
		}
		namesNone = class != nil && class.GlobalDefault
		if !namesNone {
			return field.ErrorList{field.Forbidden(path, fmt.Sprintf("PriorityClass %q is not allowed for the Pods of account %s: allowed are %s (%s)",
				named, p.Account, quoted(pc.Allowed), isoPath.Child("priorityClasses", "allowed")))}, nil
		}
	}
	if !namesNone || pc.Default == "" || named == pc.Default {
		return nil, nil
	}
	class, err := c.PriorityClass(pc.Default)
	if err != nil {
		return nil, fmt.Errorf("reading PriorityClass %s: %w", pc.Default, err)
	}
	if class == nil {
		return field.ErrorList{field.Forbidden(path, fmt.Sprintf("the Pods of account %s get the PriorityClass %q (%s), which does not exist",
			p.Account, pc.Default, isoPath.Child("priorityClasses", "default")))}, nil
	}
	spec.PriorityClassName = class.Name
	value := class.Value
	spec.Priority = &value
	policy := corev1.PreemptLowerPriority
	if class.PreemptionPolicy != nil {
		policy = *class.PreemptionPolicy
	}
	spec.PreemptionPolicy = &policy
	return nil, nil
}

func quoted(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
