package quota

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	podsResource     = schema.GroupResource{Resource: "pods"}
	servicesResource = schema.GroupResource{Resource: "services"}
	claimsResource   = schema.GroupResource{Resource: "persistentvolumeclaims"}
)

// Object is what quota needs of one object: its resource, the pod when it is one (for
// scopes and must-specify), and what it charges. It is decoded once per request.
type Object struct {
	GR    schema.GroupResource
	Name  string
	pod   *corev1.Pod
	usage corev1.ResourceList
}

// Usage is what the object charges.
func (o *Object) Usage() corev1.ResourceList { return o.usage }

// Decode reads an object of resource gr from its JSON, as an AdmissionReview carries it.
// Only pods, services and persistent volume claims are decoded into their types: every
// other kind charges its object count alone.
func Decode(gr schema.GroupResource, raw []byte) (*Object, error) {
	if gr == podsResource {
		p := &quotaPod{}
		if err := json.Unmarshal(raw, p); err != nil {
			return nil, fmt.Errorf("reading %s: %w", gr, err)
		}
		return FromPod(p.pod()), nil
	}
	typed := typedFor(gr)
	if typed == nil {
		var meta struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := json.Unmarshal(raw, &meta); err != nil {
			return nil, fmt.Errorf("reading %s: %w", gr, err)
		}
		return newObject(gr, meta.Metadata.Name, nil), nil
	}
	if err := json.Unmarshal(raw, typed); err != nil {
		return nil, fmt.Errorf("reading %s: %w", gr, err)
	}
	return newObject(gr, typed.(interface{ GetName() string }).GetName(), typed), nil
}

// quotaPod is the part of a Pod that quota reads: usage, scopes and must-specify. Decoding
// only it skips the rest of the object (managed fields, environment, volumes, probes)
// without building it.
type quotaPod struct {
	Metadata struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Containers            []quotaContainer             `json:"containers"`
		InitContainers        []quotaContainer             `json:"initContainers"`
		Overhead              corev1.ResourceList          `json:"overhead"`
		Resources             *corev1.ResourceRequirements `json:"resources"`
		ActiveDeadlineSeconds *int64                       `json:"activeDeadlineSeconds"`
		PriorityClassName     string                       `json:"priorityClassName"`
		Affinity              *corev1.Affinity             `json:"affinity"`
	} `json:"spec"`
	Status struct {
		Phase corev1.PodPhase `json:"phase"`
	} `json:"status"`
}

type quotaContainer struct {
	Name          string                         `json:"name"`
	Resources     corev1.ResourceRequirements    `json:"resources"`
	RestartPolicy *corev1.ContainerRestartPolicy `json:"restartPolicy"`
}

func (p *quotaPod) pod() *corev1.Pod {
	containers := func(in []quotaContainer) []corev1.Container {
		if in == nil {
			return nil
		}
		out := make([]corev1.Container, len(in))
		for i, c := range in {
			out[i] = corev1.Container{Name: c.Name, Resources: c.Resources, RestartPolicy: c.RestartPolicy}
		}
		return out
	}
	pod := &corev1.Pod{}
	pod.Name = p.Metadata.Name
	pod.Spec = corev1.PodSpec{
		Containers: containers(p.Spec.Containers), InitContainers: containers(p.Spec.InitContainers),
		Overhead: p.Spec.Overhead, Resources: p.Spec.Resources,
		ActiveDeadlineSeconds: p.Spec.ActiveDeadlineSeconds, PriorityClassName: p.Spec.PriorityClassName,
		Affinity: p.Spec.Affinity,
	}
	pod.Status.Phase = p.Status.Phase
	return pod
}

// FromUnstructured reads an object of resource gr.
func FromUnstructured(gr schema.GroupResource, obj *unstructured.Unstructured) (*Object, error) {
	typed := typedFor(gr)
	if typed == nil {
		return newObject(gr, obj.GetName(), nil), nil
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, typed); err != nil {
		return nil, fmt.Errorf("reading %s %s: %w", gr, obj.GetName(), err)
	}
	return newObject(gr, obj.GetName(), typed), nil
}

// typedFor is an empty object of the kinds whose usage depends on their spec, nil for the
// kinds that charge their count alone.
func typedFor(gr schema.GroupResource) any {
	switch gr {
	case podsResource:
		return &corev1.Pod{}
	case servicesResource:
		return &corev1.Service{}
	case claimsResource:
		return &corev1.PersistentVolumeClaim{}
	}
	return nil
}

// FromPod is a pod as quota sees it.
func FromPod(pod *corev1.Pod) *Object { return newObject(podsResource, pod.Name, pod) }

func newObject(gr schema.GroupResource, name string, typed any) *Object {
	o := &Object{GR: gr, Name: name}
	switch t := typed.(type) {
	case *corev1.Pod:
		o.pod = t
		o.usage = PodUsage(t)
		return o
	case *corev1.Service:
		o.usage = add(corev1.ResourceList{countName(gr): one.DeepCopy()}, serviceUsage(t))
		return o
	case *corev1.PersistentVolumeClaim:
		o.usage = add(corev1.ResourceList{countName(gr): one.DeepCopy()}, claimUsage(t))
		return o
	}
	o.usage = corev1.ResourceList{countName(gr): one.DeepCopy()}
	if gr.Group == "" {
		if name, ok := legacyCounts[gr.Resource]; ok {
			o.usage[name] = one.DeepCopy()
		}
	}
	return o
}

// CoveredBy reports whether a quota with spec applies to the object. Scopes and scope
// selectors apply to pods only: a quota with scopes covers no other kind.
func (o *Object) CoveredBy(spec corev1.ResourceQuotaSpec) (bool, error) {
	selectors := scopeSelectors(spec)
	if len(selectors) == 0 {
		return true, nil
	}
	if o.pod == nil {
		return false, nil
	}
	for _, s := range selectors {
		ok, err := podMatchesScope(o.pod, s)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}
