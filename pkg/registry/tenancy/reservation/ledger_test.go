package reservation_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/storage"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/raw"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/registrytest"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy/reservation"
	_ "github.com/tenancy-apiserver/tenancy-apiserver/pkg/scheme" // installs the API types in the scheme
)

func newLedger(t *testing.T) *reservation.Ledger {
	l, err := reservation.New(registrytest.Getter{Options: registrytest.RESTOptions(t, "spacereservations")})
	require.NoError(t, err)
	t.Cleanup(l.Destroy)
	return l
}

func TestReserveHoldsTheLimitUnderConcurrency(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		granted []string
		refused int
	)
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("space-%d", i)
			err := l.Reserve(ctx, "team", name, 3, nil, false)
			mu.Lock()
			defer mu.Unlock()
			var limit *reservation.LimitError
			switch {
			case err == nil:
				granted = append(granted, name)
			case errors.As(err, &limit):
				refused++
				assert.Equal(t, "space limit of 3 reached for account team", err.Error())
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	assert.Len(t, granted, 3)
	assert.Equal(t, 27, refused)

	require.NoError(t, l.Release(ctx, "team", granted[0]))
	require.NoError(t, l.Reserve(ctx, "team", "late", 3, nil, false), "a released place can be taken again")
	assert.Error(t, l.Reserve(ctx, "team", "too-late", 3, nil, false))
	assert.NoError(t, l.Reserve(ctx, "other", "x", 1, nil, false), "accounts have their own places")
}

func TestExistingNamespacesCountAndDeadReservationsExpire(t *testing.T) {
	l := newLedger(t)
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	reservation.SetClock(l, func() time.Time { return now })

	require.NoError(t, l.Reserve(ctx, "team", "a", 2, []string{"adopted"}, false))
	assert.Error(t, l.Reserve(ctx, "team", "b", 2, []string{"adopted"}, false), "a namespace made by other means takes a place")
	assert.NoError(t, l.Reserve(ctx, "team", "a", 2, []string{"adopted", "a"}, false), "reserving again is idempotent")

	now = now.Add(reservation.Grace + time.Second)
	require.NoError(t, l.Reserve(ctx, "team", "b", 2, []string{"adopted"}, false), "a reservation whose namespace never came expires")
	reserved, err := l.Reserved(ctx, "team")
	require.NoError(t, err)
	assert.Contains(t, reserved, "b")
	assert.NotContains(t, reserved, "a")

	now = now.Add(reservation.Grace + time.Second)
	assert.Error(t, l.Reserve(ctx, "team", "c", 2, []string{"adopted", "b"}, false), "a reservation whose namespace exists never expires")
}

// An Account's places as an earlier server stored them, as the annotations of an Account
// object, are read by this one; a record this server wrote cannot be read as an Account, so
// an earlier replica in a rolling upgrade refuses the create instead of miscounting.
func TestRecordsOfEarlierServersAreRead(t *testing.T) {
	getter := registrytest.Getter{Options: registrytest.RESTOptions(t, "spacereservations")}
	old, err := raw.Open(getter, "spacereservations",
		func() runtime.Object { return &config.Account{} }, func() runtime.Object { return &config.AccountList{} })
	require.NoError(t, err)
	t.Cleanup(old.Destroy)
	l, err := reservation.New(getter)
	require.NoError(t, err)
	t.Cleanup(l.Destroy)
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	reservation.SetClock(l, func() time.Time { return now })

	legacy := &config.Account{ObjectMeta: metav1.ObjectMeta{Name: "team", Annotations: map[string]string{
		"a": now.Add(-time.Second).Format(time.RFC3339Nano),
		"b": "not a time",
	}}}
	require.NoError(t, old.Create(ctx, old.Prefix+"/team", legacy, &config.Account{}, 0))

	reserved, err := l.Reserved(ctx, "team")
	require.NoError(t, err)
	assert.Equal(t, map[string]time.Time{"a": now.Add(-time.Second), "b": {}}, reserved)
	assert.Error(t, l.Reserve(ctx, "team", "c", 2, []string{"b"}, false),
		"the earlier server's places count: a is reserved and b exists")
	require.NoError(t, l.Reserve(ctx, "team", "c", 3, []string{"b"}, false))

	err = old.Get(ctx, old.Prefix+"/team", storage.GetOptions{}, &config.Account{})
	assert.Error(t, err, "an earlier server cannot read the new record")
	reserved, err = l.Reserved(ctx, "team")
	require.NoError(t, err)
	assert.Len(t, reserved, 3)
}
