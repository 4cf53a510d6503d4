// Package isolation applies an Account's spec.isolation to the Pods of its Spaces: it adds
// the Account's node selector, tolerations, PriorityClass and image pull policy to a Pod,
// and finds what in a Pod would take it outside the Account's nodes or PriorityClasses.
// It is plain Go over the API types; the admission webhook (pkg/admission/pod) serves it.
package isolation

import (
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

// Cluster answers what the isolation of a Pod needs to know about the cluster.
type Cluster interface {
	// Node is the Node name, or nil when there is none.
	Node(name string) (*corev1.Node, error)
	// PriorityClass is the PriorityClass name, or nil when there is none.
	PriorityClass(name string) (*schedulingv1.PriorityClass, error)
}

// Policy is the isolation of one Account.
type Policy struct {
	// Account names the Account in messages.
	Account string
	configv1alpha1.AccountIsolation
}

// Enforced reports whether p changes or refuses any Pod.
func (p *Policy) Enforced() bool {
	return p.Nodes != nil || p.PriorityClasses != nil || p.AlwaysPullImages
}

var (
	specPath = field.NewPath("spec")
	isoPath  = field.NewPath("spec", "isolation")
)

// AdmitCreate changes pod, about to be created, to what p requires of it and returns why
// it is refused, if it is: every field of pod that leaves the Account's nodes or
// PriorityClasses. The error, when not nil, is a failure to read the cluster.
func (p *Policy) AdmitCreate(pod *corev1.Pod, c Cluster) (field.ErrorList, error) {
	var errs field.ErrorList
	if n := p.Nodes; n != nil {
		errs = append(errs, p.selectNodes(&pod.Spec, n.NodeSelector)...)
		errs = append(errs, p.tolerate(&pod.Spec, n.Tolerations, nil)...)
		nodeErrs, err := p.checkNodes(&pod.Spec, n.NodeSelector, c)
		if err != nil {
			return nil, err
		}
		errs = append(errs, nodeErrs...)
	}
	if pc := p.PriorityClasses; pc != nil {
		prioErrs, err := p.prioritize(&pod.Spec, pc, c)
		if err != nil {
			return nil, err
		}
		errs = append(errs, prioErrs...)
	}
	if p.AlwaysPullImages {
		alwaysPull(&pod.Spec, nil)
	}
	return errs, nil
}

// AdmitUpdate returns why an update of old to pod is refused, if it is. Kubernetes lets a
// Pod gain tolerations and change its images after it is created: the tolerations it gains
// must be the Account's, and a container whose image changes must pull it.
func (p *Policy) AdmitUpdate(old, pod *corev1.Pod) field.ErrorList {
	var errs field.ErrorList
	if n := p.Nodes; n != nil {
		errs = append(errs, p.tolerate(&pod.Spec, nil, old.Spec.Tolerations)...)
	}
	if p.AlwaysPullImages {
		errs = append(errs, p.checkPulls(old, pod)...)
	}
	return errs
}

// AdmitEphemeralContainers changes pod, whose ephemeral containers are being updated from
// old's, so that the ephemeral containers it adds pull their images when p requires it.
func (p *Policy) AdmitEphemeralContainers(old, pod *corev1.Pod) {
	if !p.AlwaysPullImages {
		return
	}
	existing := make(map[string]bool, len(old.Spec.EphemeralContainers))
	for i := range old.Spec.EphemeralContainers {
		existing[old.Spec.EphemeralContainers[i].Name] = true
	}
	alwaysPull(&pod.Spec, existing)
}
