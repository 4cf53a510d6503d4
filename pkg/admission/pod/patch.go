package pod

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
)

// operation is one JSON Patch operation. "add" of a member that exists replaces it, so
// every change is an add of the whole field.
type operation struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// patchOf is the JSON Patch that changes the Pod spec before into after, for the fields
// isolation changes.
func patchOf(before, after *corev1.PodSpec) []operation {
	var ops []operation
	add := func(path string, b, a any) {
		if !equality.Semantic.DeepEqual(b, a) {
			ops = append(ops, operation{Op: "add", Path: "/spec/" + path, Value: a})
		}
	}
	add("nodeSelector", before.NodeSelector, after.NodeSelector)
	add("tolerations", before.Tolerations, after.Tolerations)
	add("priorityClassName", before.PriorityClassName, after.PriorityClassName)
	add("priority", before.Priority, after.Priority)
	add("preemptionPolicy", before.PreemptionPolicy, after.PreemptionPolicy)
	for i := range after.InitContainers {
		add(fmt.Sprintf("initContainers/%d/imagePullPolicy", i), before.InitContainers[i].ImagePullPolicy, after.InitContainers[i].ImagePullPolicy)
	}
	for i := range after.Containers {
		add(fmt.Sprintf("containers/%d/imagePullPolicy", i), before.Containers[i].ImagePullPolicy, after.Containers[i].ImagePullPolicy)
	}
	for i := range after.EphemeralContainers {
		add(fmt.Sprintf("ephemeralContainers/%d/imagePullPolicy", i), before.EphemeralContainers[i].ImagePullPolicy, after.EphemeralContainers[i].ImagePullPolicy)
	}
	return ops
}
