package isolation

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// alwaysPull sets imagePullPolicy Always on every container, init container and ephemeral
// container of a Pod but the ephemeral containers named in keep.
func alwaysPull(spec *corev1.PodSpec, keep map[string]bool) {
	for i := range spec.InitContainers {
		spec.InitContainers[i].ImagePullPolicy = corev1.PullAlways
	}
	for i := range spec.Containers {
		spec.Containers[i].ImagePullPolicy = corev1.PullAlways
	}
	for i := range spec.EphemeralContainers {
		if !keep[spec.EphemeralContainers[i].Name] {
			spec.EphemeralContainers[i].ImagePullPolicy = corev1.PullAlways
		}
	}
}

// checkPulls refuses an update that changes the image of a container that does not pull
// it always (a Pod created before the Account required it): its policy cannot change.
func (p *Policy) checkPulls(old, pod *corev1.Pod) field.ErrorList {
	var errs field.ErrorList
	check := func(path *field.Path, olds, news []corev1.Container) {
		before := make(map[string]string, len(olds))
		for _, c := range olds {
			before[c.Name] = c.Image
		}
		for i, c := range news {
			if img, ok := before[c.Name]; ok && img != c.Image && c.ImagePullPolicy != corev1.PullAlways {
				errs = append(errs, field.Forbidden(path.Index(i).Child("image"),
					fmt.Sprintf("may change only in containers with imagePullPolicy Always: the Pods of account %s always pull their images (%s); recreate the Pod",
						p.Account, isoPath.Child("alwaysPullImages"))))
			}
		}
	}
	check(specPath.Child("initContainers"), old.Spec.InitContainers, pod.Spec.InitContainers)
	check(specPath.Child("containers"), old.Spec.Containers, pod.Spec.Containers)
	return errs
}
