package apiserver

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
)

// TrimInformers makes the informers of kube-apiserver's objects that this server reads keep
// them without their managedFields, as kube-controller-manager's do: nothing here reads them
// from a cache (the Space view drops them, and the TemplateInstance controller reads the
// managers of the objects it applies from kube-apiserver), and they are often the largest part
// of a namespace, a RoleBinding or a Pod. Call it before the factory starts.
func TrimInformers(f informers.SharedInformerFactory) error {
	rbac := f.Rbac().V1()
	for name, i := range map[string]cache.SharedIndexInformer{
		"namespaces":          f.Core().V1().Namespaces().Informer(),
		"pods":                f.Core().V1().Pods().Informer(),
		"nodes":               f.Core().V1().Nodes().Informer(),
		"roles":               rbac.Roles().Informer(),
		"rolebindings":        rbac.RoleBindings().Informer(),
		"clusterroles":        rbac.ClusterRoles().Informer(),
		"clusterrolebindings": rbac.ClusterRoleBindings().Informer(),
		"networkpolicies":     f.Networking().V1().NetworkPolicies().Informer(),
		"priorityclasses":     f.Scheduling().V1().PriorityClasses().Informer(),
	} {
		if err := i.SetTransform(dropManagedFields); err != nil {
			return fmt.Errorf("trimming the %s informer: %w", name, err)
		}
	}
	return nil
}

func dropManagedFields(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}
