package space

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/sleep"
)

// adminOnly says why key, a label or annotation of a Space's namespace, is set by admins
// only, or "" when tenants may set it. Such keys are this product's own, those that decide
// the Pod Security level of the namespace, those that decide where its Pods may run, and
// the state sleep mode keeps.
func adminOnly(key string) string {
	switch {
	case strings.HasPrefix(key, "kiosk.sh/") || strings.Contains(key, ".kiosk.sh/"):
		return "kiosk.sh/ keys are set by admins only"
	case strings.HasPrefix(key, "pod-security.kubernetes.io/"):
		return "pod-security.kubernetes.io/ keys are set by admins only"
	case strings.HasPrefix(key, "scheduler.alpha.kubernetes.io/"):
		return "scheduler.alpha.kubernetes.io/ keys are set by admins only"
	case sleep.ServerWritten(key):
		return "sleep mode's state is written by the server"
	}
	return ""
}

// keyMaps are the labels and annotations of a Space, with their paths.
func keyMaps(s *tenancy.Space) []keyMap {
	if s == nil {
		return []keyMap{{path: labelsPath}, {path: annotationsPath}}
	}
	return []keyMap{{labelsPath, s.Labels}, {annotationsPath, s.Annotations}}
}

type keyMap struct {
	path *field.Path
	keys map[string]string
}

var (
	labelsPath      = field.NewPath("metadata", "labels")
	annotationsPath = field.NewPath("metadata", "annotations")
)

// validateKeys refuses what a caller who is not an admin sets, changes or removes of the
// admin-only keys and of the keys the Account's spaceTemplate sets, going from old (nil on
// create) to s.
func validateKeys(s, old *tenancy.Space, templateLabels, templateAnnotations map[string]string) field.ErrorList {
	var errs field.ErrorList
	olds := keyMaps(old)
	set := [2]map[string]string{templateLabels, templateAnnotations}
	for i, m := range keyMaps(s) {
		was := olds[i].keys
		why := func(k string) string {
			if reason := adminOnly(k); reason != "" {
				return reason
			}
			if _, ok := set[i][k]; ok {
				return fmt.Sprintf("%s is set by the Account's spec.space.spaceTemplate", k)
			}
			return ""
		}
		for k, v := range m.keys {
			prev, had := was[k]
			if had && prev == v {
				continue
			}
			if old == nil {
				if _, ok := set[i][k]; ok {
					continue // the spaceTemplate's value replaces it at create
				}
			}
			if reason := why(k); reason != "" {
				errs = append(errs, field.Forbidden(m.path.Key(k), reason))
			}
		}
		for k := range was {
			if _, kept := m.keys[k]; !kept {
				if reason := why(k); reason != "" {
					errs = append(errs, field.Forbidden(m.path.Key(k), reason))
				}
			}
		}
	}
	return errs
}
