package isolation

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

const ownKey = "node-restriction.kubernetes.io/tenant"

// cluster is the nodes and PriorityClasses a test's Pods meet.
type cluster struct {
	nodes   map[string]*corev1.Node
	classes map[string]*schedulingv1.PriorityClass
}

func (c cluster) Node(name string) (*corev1.Node, error) { return c.nodes[name], nil }
func (c cluster) PriorityClass(name string) (*schedulingv1.PriorityClass, error) {
	return c.classes[name], nil
}

func testCluster() cluster {
	node := func(name, tenant string, taints ...corev1.Taint) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{ownKey: tenant}},
			Spec: corev1.NodeSpec{Taints: taints}}
	}
	class := func(name string, value int32, global bool) *schedulingv1.PriorityClass {
		return &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Value: value, GlobalDefault: global}
	}
	never := corev1.PreemptNever
	batch := class("batch", 100, false)
	batch.PreemptionPolicy = &never
	return cluster{
		nodes: map[string]*corev1.Node{
			"own-1":     node("own-1", "a", taint("tenant", "a")),
			"own-2":     node("own-2", "a", taint("tenant", "a"), taint("dedicated", "gpu")),
			"own-3":     node("own-3", "a", taint("tenant", "a"), corev1.Taint{Key: "node.kubernetes.io/not-ready", Effect: corev1.TaintEffectNoSchedule}),
			"foreign-1": node("foreign-1", "b", taint("tenant", "b")),
		},
		classes: map[string]*schedulingv1.PriorityClass{
			"low": class("low", 10, false), "batch": batch, "high": class("high", 1000, false),
			"cluster-default": class("cluster-default", 1, true),
		},
	}
}

func taint(key, value string) corev1.Taint {
	return corev1.Taint{Key: key, Value: value, Effect: corev1.TaintEffectNoSchedule}
}

func toleration(key, value string) corev1.Toleration {
	return corev1.Toleration{Key: key, Operator: corev1.TolerationOpEqual, Value: value, Effect: corev1.TaintEffectNoSchedule}
}

// notReady is the toleration DefaultTolerationSeconds adds to every Pod.
var notReady = corev1.Toleration{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists,
	Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)}

func policy() *Policy {
	return &Policy{Account: "a", AccountIsolation: configv1alpha1.AccountIsolation{
		Nodes: &configv1alpha1.AccountNodeIsolation{
			NodeSelector: map[string]string{ownKey: "a"},
			Tolerations:  []corev1.Toleration{toleration("tenant", "a")},
		},
		PriorityClasses:  &configv1alpha1.AccountPriorityClasses{Allowed: []string{"low", "batch"}, Default: "batch"},
		AlwaysPullImages: true,
	}}
}

func newPod(change func(*corev1.PodSpec)) *corev1.Pod {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "init", Image: "busybox", ImagePullPolicy: corev1.PullIfNotPresent}},
		Containers:     []corev1.Container{{Name: "app", Image: "nginx", ImagePullPolicy: corev1.PullNever}},
		Tolerations:    []corev1.Toleration{notReady},
		Priority:       ptr.To[int32](0),
	}}
	if change != nil {
		change(&pod.Spec)
	}
	return pod
}

func requiredTerms(terms ...corev1.NodeSelectorTerm) *corev1.Affinity {
	return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
		RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms}}}
}

func expr(key string, op corev1.NodeSelectorOperator, values ...string) corev1.NodeSelectorTerm {
	return corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: op, Values: values}}}
}

// TestAdmitCreateRefuses lists Pods that would leave the Account's nodes or
// PriorityClasses, each with the field its refusal must name.
func TestAdmitCreateRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*corev1.PodSpec)
		field  string
		says   string
	}{
		{"foreign node selector", func(s *corev1.PodSpec) { s.NodeSelector = map[string]string{ownKey: "b"} },
			"spec.nodeSelector[" + ownKey + "]", `is "b", but the Pods of account a run only on nodes with ` + ownKey + "=a"},
		{"affinity In another tenant", func(s *corev1.PodSpec) { s.Affinity = requiredTerms(expr(ownKey, corev1.NodeSelectorOpIn, "b")) },
			"spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0]", "excludes the nodes of account a"},
		{"affinity NotIn own", func(s *corev1.PodSpec) {
			s.Affinity = requiredTerms(expr("zone", corev1.NodeSelectorOpIn, "x"), expr(ownKey, corev1.NodeSelectorOpNotIn, "a"))
		}, "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[1].matchExpressions[0]", "NotIn [a]"},
		{"affinity DoesNotExist", func(s *corev1.PodSpec) { s.Affinity = requiredTerms(expr(ownKey, corev1.NodeSelectorOpDoesNotExist)) },
			"nodeSelectorTerms[0].matchExpressions[0]", "DoesNotExist"},
		{"affinity on a foreign node name", func(s *corev1.PodSpec) {
			s.Affinity = requiredTerms(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{
				{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"own-1", "foreign-1"}}}})
		}, "nodeSelectorTerms[0].matchFields[0].values[1]", `node "foreign-1" is not one of the nodes of account a`},
		{"foreign nodeName", func(s *corev1.PodSpec) { s.NodeName = "foreign-1" },
			"spec.nodeName", `node "foreign-1" is not one of the nodes of account a: it does not carry ` + ownKey + "=a"},
		{"unknown nodeName", func(s *corev1.PodSpec) { s.NodeName = "nowhere" }, "spec.nodeName", `node "nowhere" does not exist`},
		{"own node with an untolerated taint", func(s *corev1.PodSpec) { s.NodeName = "own-2" },
			"spec.nodeName", "has the taint dedicated=gpu:NoSchedule, which the Pod does not tolerate"},
		{"foreign toleration", func(s *corev1.PodSpec) { s.Tolerations = append(s.Tolerations, toleration("tenant", "b")) },
			"spec.tolerations[1]", "the toleration of tenant=b (NoSchedule) tolerates taints that the Pods of account a may not tolerate"},
		{"toleration of every value", func(s *corev1.PodSpec) {
			s.Tolerations = []corev1.Toleration{{Key: "tenant", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}
		}, "spec.tolerations[0]", "the toleration of tenant (NoSchedule)"},
		{"toleration of every effect", func(s *corev1.PodSpec) {
			s.Tolerations = []corev1.Toleration{{Key: "tenant", Operator: corev1.TolerationOpEqual, Value: "a"}}
		}, "spec.tolerations[0]", "every effect"},
		{"toleration of everything", func(s *corev1.PodSpec) { s.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}} },
			"spec.tolerations[0]", "every key"},
		{"toleration by comparison", func(s *corev1.PodSpec) {
			s.Tolerations = []corev1.Toleration{{Key: "tenant", Operator: corev1.TolerationOpGt, Value: "a", Effect: corev1.TaintEffectNoSchedule}}
		}, "spec.tolerations[0]", "tenant Gt a"},
		{"foreign PriorityClass", func(s *corev1.PodSpec) { s.PriorityClassName = "high" },
			"spec.priorityClassName", `PriorityClass "high" is not allowed for the Pods of account a: allowed are "low", "batch"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			errs, err := policy().AdmitCreate(newPod(tc.change), testCluster())
			require.NoError(t, err)
			require.Len(t, errs, 1, "%v", errs)
			assert.Contains(t, errs[0].Field, tc.field)
			assert.True(t, strings.HasSuffix(errs[0].Field, tc.field), "field %s", errs[0].Field)
			assert.Contains(t, errs.ToAggregate().Error(), tc.says)
		})
	}
}

// TestAdmitCreateAdmits lists Pods that stay on the Account's nodes, with what the Pod
// must be once admitted.
func TestAdmitCreateAdmits(t *testing.T) {
	own := toleration("tenant", "a")
	for _, tc := range []struct {
		name   string
		policy func(*Policy)
		change func(*corev1.PodSpec)
		want   func(*corev1.PodSpec)
	}{
		{"bare Pod gets everything", nil, nil, func(s *corev1.PodSpec) {
			s.NodeSelector = map[string]string{ownKey: "a"}
			s.Tolerations = []corev1.Toleration{notReady, own}
			s.PriorityClassName, s.Priority, s.PreemptionPolicy = "batch", ptr.To[int32](100), ptr.To(corev1.PreemptNever)
			s.InitContainers[0].ImagePullPolicy, s.Containers[0].ImagePullPolicy = corev1.PullAlways, corev1.PullAlways
		}},
		{"own selector, affinity and toleration kept once", nil, func(s *corev1.PodSpec) {
			s.NodeSelector = map[string]string{ownKey: "a", "disk": "ssd"}
			s.Affinity = requiredTerms(expr(ownKey, corev1.NodeSelectorOpIn, "a", "b"), expr(ownKey, corev1.NodeSelectorOpExists))
			s.Tolerations = []corev1.Toleration{own}
			s.PriorityClassName, s.Priority = "low", ptr.To[int32](10)
		}, func(s *corev1.PodSpec) {
			s.NodeSelector = map[string]string{ownKey: "a", "disk": "ssd"}
			s.Affinity = requiredTerms(expr(ownKey, corev1.NodeSelectorOpIn, "a", "b"), expr(ownKey, corev1.NodeSelectorOpExists))
			s.Tolerations = []corev1.Toleration{own}
			s.PriorityClassName, s.Priority = "low", ptr.To[int32](10)
			s.InitContainers[0].ImagePullPolicy, s.Containers[0].ImagePullPolicy = corev1.PullAlways, corev1.PullAlways
		}},
		{"own nodeName; condition taints ignored", func(p *Policy) { p.PriorityClasses, p.AlwaysPullImages = nil, false },
			func(s *corev1.PodSpec) { s.NodeName = "own-3" }, func(s *corev1.PodSpec) {
				s.NodeName = "own-3"
				s.NodeSelector = map[string]string{ownKey: "a"}
				s.Tolerations = []corev1.Toleration{notReady, own}
			}},
		{"narrower toleration is covered", func(p *Policy) {
			p.Nodes.Tolerations = []corev1.Toleration{{Key: "tenant", Operator: corev1.TolerationOpExists}}
			p.PriorityClasses, p.AlwaysPullImages = nil, false
		}, func(s *corev1.PodSpec) { s.Tolerations = []corev1.Toleration{own} }, func(s *corev1.PodSpec) {
			s.NodeSelector = map[string]string{ownKey: "a"}
			s.Tolerations = []corev1.Toleration{own, {Key: "tenant", Operator: corev1.TolerationOpExists}}
		}},
		{"cluster default class replaced by the Account's", nil, func(s *corev1.PodSpec) {
			s.PriorityClassName, s.Priority = "cluster-default", ptr.To[int32](1)
		}, func(s *corev1.PodSpec) {
			s.NodeSelector = map[string]string{ownKey: "a"}
			s.Tolerations = []corev1.Toleration{notReady, own}
			s.PriorityClassName, s.Priority, s.PreemptionPolicy = "batch", ptr.To[int32](100), ptr.To(corev1.PreemptNever)
			s.InitContainers[0].ImagePullPolicy, s.Containers[0].ImagePullPolicy = corev1.PullAlways, corev1.PullAlways
		}},
		{"cluster default class kept without an Account default", func(p *Policy) {
			p.Nodes, p.AlwaysPullImages, p.PriorityClasses.Default = nil, false, ""
		}, func(s *corev1.PodSpec) { s.PriorityClassName = "cluster-default" }, func(s *corev1.PodSpec) {
			s.PriorityClassName = "cluster-default"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := policy()
			if tc.policy != nil {
				tc.policy(p)
			}
			pod := newPod(tc.change)
			errs, err := p.AdmitCreate(pod, testCluster())
			require.NoError(t, err)
			require.Empty(t, errs)
			assert.Equal(t, newPod(tc.want).Spec, pod.Spec)
		})
	}
}

func TestMissingDefaultClassRefuses(t *testing.T) {
	p := policy()
	p.PriorityClasses.Default, p.PriorityClasses.Allowed = "gone", []string{"gone"}
	errs, err := p.AdmitCreate(newPod(nil), testCluster())
	require.NoError(t, err)
	require.Len(t, errs, 1)
	assert.Equal(t, "spec.priorityClassName", errs[0].Field)
	assert.Contains(t, errs[0].Detail, `get the PriorityClass "gone" (spec.isolation.priorityClasses.default), which does not exist`)
}

func TestAdmitUpdate(t *testing.T) {
	old := newPod(func(s *corev1.PodSpec) { s.Tolerations = append(s.Tolerations, toleration("legacy", "x")) })
	for _, tc := range []struct {
		name   string
		change func(*corev1.PodSpec)
		field  string
	}{
		{"unchanged, with a toleration from before the Account's isolation", nil, ""},
		{"gains the Account's toleration", func(s *corev1.PodSpec) { s.Tolerations = append(s.Tolerations, toleration("tenant", "a")) }, ""},
		{"gains a foreign toleration", func(s *corev1.PodSpec) { s.Tolerations = append(s.Tolerations, toleration("tenant", "b")) }, "spec.tolerations[2]"},
		{"changes the image of a container that does not always pull", func(s *corev1.PodSpec) { s.Containers[0].Image = "other" }, "spec.containers[0].image"},
		{"changes the image of a container that always pulls", func(s *corev1.PodSpec) {
			s.InitContainers[0].ImagePullPolicy, s.InitContainers[0].Image = corev1.PullAlways, "other"
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := old.DeepCopy()
			if tc.change != nil {
				tc.change(&pod.Spec)
			}
			if tc.name == "changes the image of a container that always pulls" {
				old := old.DeepCopy()
				old.Spec.InitContainers[0].ImagePullPolicy = corev1.PullAlways
				assert.Empty(t, policy().AdmitUpdate(old, pod))
				return
			}
			errs := policy().AdmitUpdate(old, pod)
			if tc.field == "" {
				assert.Empty(t, errs)
				return
			}
			require.Len(t, errs, 1, "%v", errs)
			assert.Equal(t, tc.field, errs[0].Field)
		})
	}
}

func TestAdmitEphemeralContainers(t *testing.T) {
	old := newPod(func(s *corev1.PodSpec) {
		s.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "old", ImagePullPolicy: corev1.PullNever}}}
	})
	pod := old.DeepCopy()
	pod.Spec.EphemeralContainers = append(pod.Spec.EphemeralContainers,
		corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", ImagePullPolicy: corev1.PullIfNotPresent}})
	policy().AdmitEphemeralContainers(old, pod)
	assert.Equal(t, corev1.PullNever, pod.Spec.EphemeralContainers[0].ImagePullPolicy, "an existing ephemeral container cannot change")
	assert.Equal(t, corev1.PullAlways, pod.Spec.EphemeralContainers[1].ImagePullPolicy)
}

func TestCovers(t *testing.T) {
	exists := func(key string, effect corev1.TaintEffect) corev1.Toleration {
		return corev1.Toleration{Key: key, Operator: corev1.TolerationOpExists, Effect: effect}
	}
	withSeconds := func(tol corev1.Toleration, s int64) corev1.Toleration { tol.TolerationSeconds = &s; return tol }
	for _, tc := range []struct {
		name    string
		allowed corev1.Toleration
		pod     corev1.Toleration
		want    bool
	}{
		{"same", toleration("k", "v"), toleration("k", "v"), true},
		{"other value", toleration("k", "v"), toleration("k", "w"), false},
		{"Exists covers Equal", exists("k", corev1.TaintEffectNoSchedule), toleration("k", "v"), true},
		{"Equal does not cover Exists", toleration("k", "v"), exists("k", corev1.TaintEffectNoSchedule), false},
		{"every effect covers one", exists("k", ""), toleration("k", "v"), true},
		{"one effect does not cover every", toleration("k", "v"), corev1.Toleration{Key: "k", Value: "v"}, false},
		{"every key covers one", corev1.Toleration{Operator: corev1.TolerationOpExists}, toleration("k", "v"), true},
		{"other key", exists("k", ""), exists("j", ""), false},
		{"shorter time covered", withSeconds(exists("k", corev1.TaintEffectNoExecute), 60), withSeconds(exists("k", corev1.TaintEffectNoExecute), 30), true},
		{"longer time not covered", withSeconds(exists("k", corev1.TaintEffectNoExecute), 60), withSeconds(exists("k", corev1.TaintEffectNoExecute), 61), false},
		{"forever not covered by a time", withSeconds(exists("k", corev1.TaintEffectNoExecute), 60), exists("k", corev1.TaintEffectNoExecute), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, covers(&tc.allowed, &tc.pod))
		})
	}
}
