package isolation

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/klog/v2"
)

// selectNodes merges selector into the Pod's nodeSelector; a key the Pod sets to another
// value is refused.
func (p *Policy) selectNodes(spec *corev1.PodSpec, selector map[string]string) field.ErrorList {
	if len(selector) == 0 {
		return nil
	}
	var errs field.ErrorList
	if spec.NodeSelector == nil {
		spec.NodeSelector = make(map[string]string, len(selector))
	}
	for _, k := range sortedKeys(selector) {
		want := selector[k]
		if got, ok := spec.NodeSelector[k]; ok && got != want {
			errs = append(errs, field.Forbidden(specPath.Child("nodeSelector").Key(k),
				fmt.Sprintf("is %q, but the Pods of account %s run only on nodes with %s=%s (%s)",
					got, p.Account, k, want, isoPath.Child("nodes", "nodeSelector"))))
			continue
		}
		spec.NodeSelector[k] = want
	}
	return errs
}

// checkNodes refuses the required node affinity terms that exclude every node carrying
// selector, and a nodeName, in the spec or in a term's matchFields, of a node outside them.
func (p *Policy) checkNodes(spec *corev1.PodSpec, selector map[string]string, c Cluster) (field.ErrorList, error) {
	var errs field.ErrorList
	if spec.NodeName != "" {
		msg, err := p.foreignNode(spec.NodeName, selector, spec.Tolerations, c)
		if err != nil {
			return nil, err
		}
		if msg != "" {
			errs = append(errs, field.Forbidden(specPath.Child("nodeName"), msg))
		}
	}
	if spec.Affinity == nil || spec.Affinity.NodeAffinity == nil ||
		spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return errs, nil
	}
	termsPath := specPath.Child("affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms")
	for i, term := range spec.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		tp := termsPath.Index(i)
		for j, req := range term.MatchExpressions {
			want, ok := selector[req.Key]
			if !ok || admitsValue(req, want) {
				continue
			}
			errs = append(errs, field.Forbidden(tp.Child("matchExpressions").Index(j),
				fmt.Sprintf("%s %s %v excludes the nodes of account %s, which carry %s=%s (%s)",
					req.Key, req.Operator, req.Values, p.Account, req.Key, want, isoPath.Child("nodes", "nodeSelector"))))
		}
		for j, req := range term.MatchFields {
			if req.Key != "metadata.name" || req.Operator != corev1.NodeSelectorOpIn {
				continue
			}
			for k, name := range req.Values {
				msg, err := p.foreignNode(name, selector, nil, c)
				if err != nil {
					return nil, err
				}
				if msg != "" {
					errs = append(errs, field.Forbidden(tp.Child("matchFields").Index(j).Child("values").Index(k), msg))
				}
			}
		}
	}
	return errs, nil
}

// foreignNode says why the Pod may not run on node name, or "" when it may: the node
// must carry selector, and, when tolerations are given (the Pod names the node, so no
// scheduler checks its taints), its NoSchedule and NoExecute taints must be tolerated,
// but for the node.kubernetes.io/ taints of node conditions.
func (p *Policy) foreignNode(name string, selector map[string]string, tolerations []corev1.Toleration, c Cluster) (string, error) {
	node, err := c.Node(name)
	if err != nil {
		return "", fmt.Errorf("reading node %s: %w", name, err)
	}
	if node == nil {
		return fmt.Sprintf("node %q does not exist, so it is not one of the nodes of account %s", name, p.Account), nil
	}
	if len(selector) > 0 && !labels.SelectorFromSet(selector).Matches(labels.Set(node.Labels)) {
		return fmt.Sprintf("node %q is not one of the nodes of account %s: it does not carry %s (%s)",
			name, p.Account, labels.Set(selector).String(), isoPath.Child("nodes", "nodeSelector")), nil
	}
	if tolerations == nil {
		return "", nil
	}
	for _, taint := range node.Spec.Taints {
		if taint.Effect == corev1.TaintEffectPreferNoSchedule || isConditionKey(taint.Key) {
			continue
		}
		if !slices.ContainsFunc(tolerations, func(t corev1.Toleration) bool { return t.ToleratesTaint(klog.Background(), &taint, true) }) {
			return fmt.Sprintf("node %q has the taint %s, which the Pod does not tolerate", name, taint.ToString()), nil
		}
	}
	return "", nil
}

// admitsValue reports whether a node whose label req.Key is value can satisfy req.
func admitsValue(req corev1.NodeSelectorRequirement, value string) bool {
	switch req.Operator {
	case corev1.NodeSelectorOpIn:
		return slices.Contains(req.Values, value)
	case corev1.NodeSelectorOpNotIn:
		return !slices.Contains(req.Values, value)
	case corev1.NodeSelectorOpExists:
		return true
	case corev1.NodeSelectorOpDoesNotExist:
		return false
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
		if len(req.Values) != 1 {
			return false
		}
		have, err1 := strconv.ParseInt(value, 10, 64)
		bound, err2 := strconv.ParseInt(strings.TrimSpace(req.Values[0]), 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if req.Operator == corev1.NodeSelectorOpGt {
			return have > bound
		}
		return have < bound
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
