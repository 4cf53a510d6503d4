// Package quota is the arithmetic of AccountQuotas: what an object charges, which quotas
// cover it, and whether a charge fits; the quotas of an Account (an informer index), and
// how a recount from the objects is reconciled with recent charges. The semantics are those
// of a Kubernetes ResourceQuota, summed over every namespace of an Account. The webhook
// (pkg/admission/accountquota) and the recount (pkg/controller/accountquota) both decide
// through it.
package quota

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/runtime/schema"
	resourcehelper "k8s.io/component-helpers/resource"
)

var one = resource.MustParse("1")

// countName is the object-count resource of gr: count/<resource>.<group>, or
// count/<resource> for the core group.
func countName(gr schema.GroupResource) corev1.ResourceName {
	if gr.Group == "" {
		return corev1.ResourceName("count/" + gr.Resource)
	}
	return corev1.ResourceName("count/" + gr.Resource + "." + gr.Group)
}

// legacyCounts are the object counts with a name of their own.
var legacyCounts = map[string]corev1.ResourceName{
	"configmaps":             corev1.ResourceConfigMaps,
	"secrets":                corev1.ResourceSecrets,
	"replicationcontrollers": corev1.ResourceReplicationControllers,
	"resourcequotas":         corev1.ResourceQuotas,
}

// PodUsage is what a pod charges, computed as Kubernetes computes it: init containers,
// sidecars and overhead included. A pod that has finished charges nothing.
func PodUsage(pod *corev1.Pod) corev1.ResourceList {
	if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return corev1.ResourceList{}
	}
	usage := corev1.ResourceList{corev1.ResourcePods: one.DeepCopy(), "count/pods": one.DeepCopy()}
	requests := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	limits := resourcehelper.PodLimits(pod, resourcehelper.PodResourcesOptions{})
	for name, q := range requests {
		switch {
		case name == corev1.ResourceCPU || name == corev1.ResourceMemory || name == corev1.ResourceEphemeralStorage:
			usage[name] = q.DeepCopy()
			usage[corev1.ResourceName("requests."+string(name))] = q.DeepCopy()
		case strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix):
			usage[corev1.ResourceName("requests."+string(name))] = q.DeepCopy()
		case strings.Contains(string(name), "/"):
			// Extended resources are counted as requests only.
			usage[corev1.ResourceName("requests."+string(name))] = q.DeepCopy()
		}
	}
	for name, q := range limits {
		if name == corev1.ResourceCPU || name == corev1.ResourceMemory || name == corev1.ResourceEphemeralStorage {
			usage[corev1.ResourceName("limits."+string(name))] = q.DeepCopy()
		}
	}
	return usage
}

func serviceUsage(svc *corev1.Service) corev1.ResourceList {
	usage := corev1.ResourceList{corev1.ResourceServices: one.DeepCopy()}
	ports := int64(0)
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 || svc.Spec.Type == corev1.ServiceTypeNodePort ||
			(svc.Spec.Type == corev1.ServiceTypeLoadBalancer && (svc.Spec.AllocateLoadBalancerNodePorts == nil || *svc.Spec.AllocateLoadBalancerNodePorts)) {
			ports++
		}
	}
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort:
		usage[corev1.ResourceServicesNodePorts] = *resource.NewQuantity(ports, resource.DecimalSI)
	case corev1.ServiceTypeLoadBalancer:
		usage[corev1.ResourceServicesLoadBalancers] = one.DeepCopy()
		usage[corev1.ResourceServicesNodePorts] = *resource.NewQuantity(ports, resource.DecimalSI)
	}
	return usage
}

const storageClassSuffix = ".storageclass.storage.k8s.io/"

func claimUsage(pvc *corev1.PersistentVolumeClaim) corev1.ResourceList {
	usage := corev1.ResourceList{corev1.ResourcePersistentVolumeClaims: one.DeepCopy()}
	storage, hasStorage := pvc.Spec.Resources.Requests[corev1.ResourceStorage]
	if hasStorage {
		usage[corev1.ResourceRequestsStorage] = storage.DeepCopy()
	}
	if class := pvc.Spec.StorageClassName; class != nil && *class != "" {
		usage[corev1.ResourceName(*class+storageClassSuffix+"persistentvolumeclaims")] = one.DeepCopy()
		if hasStorage {
			usage[corev1.ResourceName(*class+storageClassSuffix+"requests.storage")] = storage.DeepCopy()
		}
	}
	return usage
}

func add(a, b corev1.ResourceList) corev1.ResourceList {
	out := a.DeepCopy()
	for name, q := range b {
		sum := out[name]
		sum.Add(q)
		out[name] = sum
	}
	return out
}

func resourceZero(like resource.Quantity) *resource.Quantity {
	return resource.NewQuantity(0, like.Format)
}
