package accountquota

import (
	"context"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/raw"
)

// Charger writes the usage of AccountQuotas with compare-and-swap writes straight to their
// storage, the same keys the API serves. It is the AccountQuota webhook's path: a charge
// costs one etcd transaction, not a request through the API. A write replaces exactly the
// versions it was decided on, or nothing.
type Charger struct {
	kv *raw.KV
	// manager names the charges in the quotas' managed fields, with the time of the last.
	manager string
	now     func() time.Time

	mu     sync.Mutex
	latest map[string]*raw.Stored

	closeOnce sync.Once
}

// NewCharger opens the AccountQuotas' storage for charging, through etcd client when it is
// not nil (see raw.OpenKV). manager names the charges.
func NewCharger(optsGetter generic.RESTOptionsGetter, manager string, client *clientv3.Client) (*Charger, error) {
	kv, err := raw.OpenKV(optsGetter, "accountquotas", func() runtime.Object { return &config.AccountQuota{} }, client)
	if err != nil {
		return nil, err
	}
	return &Charger{kv: kv, manager: manager, now: time.Now, latest: map[string]*raw.Stored{}}, nil
}

// Destroy closes the storage; calls after the first do nothing.
func (c *Charger) Destroy() { c.closeOnce.Do(func() { _ = c.kv.Close() }) }

// Quota is the AccountQuota of a version; nil for the absent one. It must not be changed.
func Quota(v *raw.Stored) *config.AccountQuota {
	if v == nil {
		return nil
	}
	return v.Object.(*config.AccountQuota)
}

// Current is the latest version of quota name that this Charger knows of, read from the
// storage when it knows of none or when fresh is set; nil when the quota does not exist.
func (c *Charger) Current(ctx context.Context, name string, fresh bool) (*raw.Stored, error) {
	if !fresh {
		c.mu.Lock()
		v, ok := c.latest[name]
		c.mu.Unlock()
		if ok {
			return v, nil
		}
	}
	v, err := c.kv.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	c.remember(name, v)
	return v, nil
}

func (c *Charger) remember(name string, v *raw.Stored) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if v == nil {
		delete(c.latest, name)
		return
	}
	c.latest[name] = v
}

// Next makes q, a changed copy of a version of quota name, the version to write in its
// place, stamped with the time of the charge. q belongs to the result afterwards.
func (c *Charger) Next(ctx context.Context, name string, q *config.AccountQuota) (*raw.Stored, error) {
	c.touch(q)
	return c.kv.Encode(ctx, name, q)
}

// Commit stores every Next in place of its Prev, all at once, if every Prev is still what
// is stored; a Swap without Next only asserts that its quota is unchanged. It reports false,
// and stores nothing, when another writer changed or deleted one of the quotas first.
func (c *Charger) Commit(ctx context.Context, swaps ...raw.Swap) (bool, error) {
	stored, err := c.kv.Swap(ctx, swaps...)
	for _, s := range swaps {
		switch {
		case err != nil || !stored:
			c.remember(s.Name, nil)
		case s.Next != nil:
			c.remember(s.Name, s.Next)
		}
	}
	return stored, err
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
