package accountquota

import (
	"context"
	"path"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/raw"
)

// Charger writes the usage of AccountQuotas with compare-and-swap updates straight to their
// storage, the same keys the API serves. It is the AccountQuota webhook's path: a charge
// costs one etcd transaction, not a request through the API. Each write starts from the
// last version this Charger saw, and is decided again on the current version when another
// writer got there first.
type Charger struct {
	storage *raw.Storage
	// Manager names the charges in the quotas' managed fields, with the time of the last.
	manager string
	now     func() time.Time

	mu     sync.Mutex
	latest map[string]*config.AccountQuota
}

// NewCharger opens the AccountQuotas' storage for charging. manager names the charges.
func NewCharger(optsGetter generic.RESTOptionsGetter, manager string) (*Charger, error) {
	s, err := raw.Open(optsGetter, "accountquotas",
		func() runtime.Object { return &config.AccountQuota{} },
		func() runtime.Object { return &config.AccountQuotaList{} })
	if err != nil {
		return nil, err
	}
	return &Charger{storage: s, manager: manager, now: time.Now,
		latest: map[string]*config.AccountQuota{}}, nil
}

// Destroy closes the storage.
func (c *Charger) Destroy() { c.storage.Destroy() }

// Update changes the status of AccountQuota name with change, which gets a copy of the
// current object and reports whether it changed it. change runs again, on the current
// object, whenever the write loses a race, so it must decide from its argument alone. The
// result is the object as stored; a quota that does not exist is a NotFound error.
func (c *Charger) Update(ctx context.Context, name string, change func(*config.AccountQuota) (bool, error)) (*config.AccountQuota, error) {
	key := path.Join(c.storage.Prefix, name)
	c.mu.Lock()
	var cached runtime.Object
	if q, ok := c.latest[name]; ok {
		cached = q.DeepCopy()
	}
	c.mu.Unlock()
	out := &config.AccountQuota{}
	err := c.storage.GuaranteedUpdate(ctx, key, out, false, nil,
		func(input runtime.Object, _ storage.ResponseMeta) (runtime.Object, *uint64, error) {
			q := input.(*config.AccountQuota).DeepCopy()
			changed, err := change(q)
			if err != nil {
				return nil, nil, err
			}
			if !changed {
				return input, nil, nil
			}
			c.touch(q)
			q.ResourceVersion = ""
			return q, nil, nil
		}, cached)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		delete(c.latest, name)
		if storage.IsNotFound(err) {
			return nil, apierrors.NewNotFound(config.Resource("accountquotas"), name)
		}
		return nil, err
	}
	c.latest[name] = out.DeepCopy()
	return out, nil
}

// touch records the time of the charge in the managed fields of q, as a status update by
// the charger's manager would.
func (c *Charger) touch(q *config.AccountQuota) {
	now := metav1.NewTime(c.now())
	for i := range q.ManagedFields {
		if m := &q.ManagedFields[i]; m.Manager == c.manager && m.Subresource == "status" {
			m.Time = &now
			return
		}
	}
	q.ManagedFields = append(q.ManagedFields, metav1.ManagedFieldsEntry{
		Manager: c.manager, Operation: metav1.ManagedFieldsOperationUpdate,
		APIVersion: configv1alpha1.SchemeGroupVersion.String(), Time: &now, Subresource: "status",
		FieldsType: "FieldsV1",
		FieldsV1:   &metav1.FieldsV1{Raw: []byte(`{"f:status":{"f:total":{".":{},"f:hard":{},"f:used":{}}}}`)},
	})
}
