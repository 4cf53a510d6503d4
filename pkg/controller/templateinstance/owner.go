package templateinstance

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/accounts"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

const (
	byUID     = "metadata.uid"
	byApplied = "status.appliedObjects"
	// maxFieldManager is the longest field manager kube-apiserver accepts.
	maxFieldManager = 128
)

// InstanceFieldManager returns the field manager with which ti applies its objects: the
// server's configv1alpha1.FieldManager, the instance's namespace and name for whoever reads
// managedFields, and its UID, which tells an instance from an earlier one of the same name.
// When that is too long, the server's name and the UID.
func InstanceFieldManager(ti *configv1alpha1.TemplateInstance) string {
	m := configv1alpha1.FieldManager + "/" + ti.Namespace + "/" + ti.Name + "/" + string(ti.UID)
	if len(m) > maxFieldManager {
		m = configv1alpha1.FieldManager + "/" + string(ti.UID)
	}
	return m
}

// instanceUID returns the UID of the TemplateInstance whose field manager is manager, or ""
// for a manager that is not an instance's, such as configv1alpha1.FieldManager alone, with
// which earlier versions applied every instance's objects.
func instanceUID(manager string) types.UID {
	if !strings.HasPrefix(manager, configv1alpha1.FieldManager+"/") {
		return ""
	}
	return types.UID(manager[strings.LastIndex(manager, "/")+1:])
}

// objectKey identifies an object across API versions.
func objectKey(gvk schema.GroupVersionKind, namespace, name string) string {
	return gvk.Group + "/" + gvk.Kind + "/" + namespace + "/" + name
}

func appliedKey(o configv1alpha1.AppliedObject) string {
	return objectKey(schema.FromAPIVersionAndKind(o.APIVersion, o.Kind), o.Namespace, o.Name)
}

func indexByUID(obj interface{}) ([]string, error) {
	ti, ok := obj.(*configv1alpha1.TemplateInstance)
	if !ok {
		return nil, nil
	}
	return []string{string(ti.UID)}, nil
}

func indexByApplied(obj interface{}) ([]string, error) {
	ti, ok := obj.(*configv1alpha1.TemplateInstance)
	if !ok {
		return nil, nil
	}
	keys := make([]string, 0, len(ti.Status.AppliedObjects))
	for _, o := range ti.Status.AppliedObjects {
		keys = append(keys, appliedKey(o))
	}
	return keys, nil
}

// otherOwners names, as namespace/name, the TemplateInstances other than ti that own live:
// those whose field manager manages some of its fields, and those that list it among their
// applied objects (which finds the objects earlier versions applied with one manager for
// every instance). An instance being deleted still owns what it applied. For a mandatory
// instance only other mandatory instances count: the Account's guard rails take their
// objects back from a tenant's instance, such as one that took them over before instances
// had managers of their own.
func (c *Controller) otherOwners(ti *configv1alpha1.TemplateInstance, live *unstructured.Unstructured) []string {
	owners := map[string]bool{}
	add := func(obj interface{}) {
		o, ok := obj.(*configv1alpha1.TemplateInstance)
		if !ok || o.UID == ti.UID || (accounts.IsMandatory(ti) && !accounts.IsMandatory(o)) {
			return
		}
		owners[o.Namespace+"/"+o.Name] = true
	}
	for _, m := range live.GetManagedFields() {
		uid := instanceUID(m.Manager)
		if uid == "" || uid == ti.UID {
			continue
		}
		found, _ := c.indexer.ByIndex(byUID, string(uid))
		for _, o := range found {
			add(o)
		}
	}
	key := objectKey(live.GroupVersionKind(), live.GetNamespace(), live.GetName())
	found, _ := c.indexer.ByIndex(byApplied, key)
	for _, obj := range found {
		o, ok := obj.(*configv1alpha1.TemplateInstance)
		if !ok {
			continue
		}
		for _, a := range o.Status.AppliedObjects {
			if appliedKey(a) == key && (a.UID == "" || types.UID(a.UID) == live.GetUID()) {
				add(o)
			}
		}
	}
	names := make([]string, 0, len(owners))
	for n := range owners {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// conflict is the refusal to apply an object that another TemplateInstance owns.
func conflict(obj *unstructured.Unstructured, owners []string) *refusal {
	where := ""
	if obj.GetNamespace() != "" {
		where = " in namespace " + obj.GetNamespace()
	}
	return &refusal{Reason: configv1alpha1.ReasonConflict, Message: fmt.Sprintf(
		"%s %s%s belongs to template instance %s; an object is applied by one template instance only",
		obj.GetKind(), obj.GetName(), where, strings.Join(owners, ", "))}
}

// objectLocks serialises the ownership check and the write of one object, so that two
// instances applying the same object at once cannot both find it free.
type objectLocks [64]sync.Mutex

func (l *objectLocks) lock(key string) func() {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	m := &l[h.Sum32()%uint32(len(l))]
	m.Lock()
	return m.Unlock
}

// live reads the object as it is, for the ownership check: nil when it does not exist.
func (c *Controller) live(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, error) {
	r, err := c.resource(gvk, namespace)
	if err != nil {
		return nil, err
	}
	obj, err := r.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return obj, err
}

// appliedBy reports whether ti applied live: its own field manager holds fields of it, or,
// for an object in ti's namespace, the one field manager that versions before per-instance
// managers applied with. The server's other writes with that manager (a Space's namespace,
// an Account's RoleBinding) are creates and updates, never applies, so they do not count.
func appliedBy(ti *configv1alpha1.TemplateInstance, live *unstructured.Unstructured) bool {
	own := InstanceFieldManager(ti)
	for _, m := range live.GetManagedFields() {
		if m.Manager == own {
			return true
		}
		if m.Manager == configv1alpha1.FieldManager && m.Operation == metav1.ManagedFieldsOperationApply &&
			live.GetNamespace() != "" && live.GetNamespace() == ti.Namespace {
			return true
		}
	}
	return false
}
