// Package reservation holds Space limits exactly, across any number of replicas: before a
// Space is created, a place is reserved in a per-Account ledger stored in this server's
// etcd with a compare-and-swap, so that concurrent creates can never overshoot the limit.
package reservation

import (
	"context"
	"errors"
	"fmt"
	"path"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/raw"
)

// Grace is how long a reservation without its namespace is kept: long enough for any
// create in flight to make the namespace or give the place back.
const Grace = 2 * time.Minute

// Ledger is the per-Account record of reserved Spaces: one Record per Account, stored under
// its own key prefix with the ledger's own codec, never served by the API.
type Ledger struct {
	storage *raw.Storage
	now     func() time.Time
}

// New opens the ledger in the server's storage.
func New(optsGetter generic.RESTOptionsGetter) (*Ledger, error) {
	s, err := raw.OpenWithCodec(optsGetter, "spacereservations", codec,
		func() runtime.Object { return &Record{} },
		func() runtime.Object { return &RecordList{} })
	if err != nil {
		return nil, err
	}
	return &Ledger{storage: s, now: time.Now}, nil
}

// Destroy closes the storage.
func (l *Ledger) Destroy() { l.storage.Destroy() }

// LimitError is returned when an Account has no place left.
type LimitError struct {
	Account string
	Limit   int32
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("space limit of %d reached for account %s", e.Limit, e.Account)
}

// Reserve takes a place for Space name in account, whose limit is limit. existing are the
// account's namespaces as this server knows them: they count whether or not they hold a
// reservation, so that namespaces created by other means count too. Reserve fails with a
// *LimitError when every place is taken. With dryRun it only checks.
func (l *Ledger) Reserve(ctx context.Context, account, name string, limit int32, existing []string, dryRun bool) error {
	err := l.update(ctx, account, func(reserved map[string]metav1.MicroTime) error {
		now := l.now()
		exists := make(map[string]bool, len(existing))
		for _, ns := range existing {
			exists[ns] = true
		}
		for ns, at := range reserved {
			// A reservation whose namespace never appeared is from a create that died.
			if !exists[ns] && now.Sub(at.Time) > Grace {
				delete(reserved, ns)
			}
		}
		taken := len(reserved)
		for _, ns := range existing {
			if _, ok := reserved[ns]; !ok && ns != name {
				taken++
			}
		}
		if _, ok := reserved[name]; !ok && int32(taken) >= limit {
			return &LimitError{Account: account, Limit: limit}
		}
		if dryRun {
			return errDryRun
		}
		reserved[name] = metav1.NewMicroTime(now.UTC())
		return nil
	})
	if errors.Is(err, errDryRun) {
		return nil
	}
	return err
}

var errDryRun = errors.New("dry run")

// Release gives back the place of Space name in account: its create failed, or it was
// deleted.
func (l *Ledger) Release(ctx context.Context, account, name string) error {
	return l.update(ctx, account, func(reserved map[string]metav1.MicroTime) error {
		delete(reserved, name)
		return nil
	})
}

// Reserved returns the names holding a place in account, and when each was reserved.
func (l *Ledger) Reserved(ctx context.Context, account string) (map[string]time.Time, error) {
	rec := &Record{}
	err := l.storage.Get(ctx, l.key(account), storage.GetOptions{IgnoreNotFound: true}, rec)
	if err != nil {
		return nil, err
	}
	out := make(map[string]time.Time, len(rec.Spaces))
	for name, at := range rec.Spaces {
		out[name] = at.Time
	}
	return out, nil
}

func (l *Ledger) key(account string) string { return path.Join(l.storage.Prefix, account) }

// update changes one Account's record with a compare-and-swap, retried on conflict.
func (l *Ledger) update(ctx context.Context, account string, change func(map[string]metav1.MicroTime) error) error {
	var changeErr error
	err := l.storage.GuaranteedUpdate(ctx, l.key(account), &Record{}, true, nil,
		func(input runtime.Object, _ storage.ResponseMeta) (runtime.Object, *uint64, error) {
			rec := input.(*Record).DeepCopy()
			rec.Name = account
			if rec.Spaces == nil {
				rec.Spaces = map[string]metav1.MicroTime{}
			}
			if changeErr = change(rec.Spaces); changeErr != nil {
				return nil, nil, changeErr
			}
			if rec.CreationTimestamp.IsZero() {
				rec.CreationTimestamp = metav1.NewTime(l.now())
			}
			rec.ResourceVersion = ""
			return rec, nil, nil
		}, nil)
	if changeErr != nil {
		return changeErr
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("space reservations of account %s: %w", account, err)
	}
	return err
}
