package space

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/registrytest"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy/reservation"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy/tenancytest"
)

// withLedger has c's Space storage hold limits in a real reservation ledger on etcd.
func withLedger(t *testing.T, c *cluster) *reservation.Ledger {
	t.Helper()
	l, err := reservation.New(registrytest.Getter{Options: registrytest.RESTOptions(t, "spacereservations")})
	require.NoError(t, err)
	t.Cleanup(l.Destroy)
	c.rest.writer.Reservations = l
	return l
}

// The creator holds the Account's Space limit itself: of many creates at once, exactly as
// many succeed as there are places, whatever the admission chain did before; a dry run
// takes no place; a failed create gives its place back; cluster-wide admins are not held.
func TestCreateHoldsTheSpaceLimit(t *testing.T) {
	admin := tenancytest.As("admin", "system:authenticated")
	c := newCluster(t, tenancytest.Any(seesAllSpaces, tenancytest.Allow("create", "namespaces", "admin"), tenancytest.Allow("delete", "namespaces", "alice")), teamAAccount())
	ledger := withLedger(t, c)
	ctx := context.Background()

	// team-a has two Spaces and a limit of three.
	_, err := c.rest.Create(alice, newSpace("team-a-dry", teamA, nil), nil, &metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	require.NoError(t, err, "a dry run under the limit is allowed")
	reserved, err := ledger.Reserved(ctx, teamA)
	require.NoError(t, err)
	assert.Empty(t, reserved, "a dry run takes no place")

	const racers = 8
	var (
		start   = make(chan struct{})
		wg      sync.WaitGroup
		mu      sync.Mutex
		created []string
		refused []error
	)
	for i := range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("team-a-race-%d", i)
			<-start
			_, err := c.rest.Create(alice, newSpace(name, teamA, nil), nil, &metav1.CreateOptions{})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				refused = append(refused, err)
				return
			}
			created = append(created, name)
		}()
	}
	close(start)
	wg.Wait()
	require.Len(t, created, 1, "one place was left")
	require.Len(t, refused, racers-1)
	for _, err := range refused {
		assert.True(t, apierrors.IsForbidden(err), "want Forbidden, got %v", err)
		assert.Contains(t, err.Error(), "space limit of 3 reached for account team-a")
	}

	_, err = c.rest.Create(alice, newSpace("team-a-dry-full", teamA, nil), nil, &metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	assert.True(t, apierrors.IsForbidden(err), "a dry run at the limit is refused: %v", err)

	_, err = c.rest.Create(admin, newSpace("team-a-by-admin", teamA, nil), nil, &metav1.CreateOptions{})
	require.NoError(t, err, "an admin who may create namespaces is not held to the limit")

	// A create that fails after taking its place gives it back.
	_, _, err = c.rest.Delete(alice, created[0], nil, &metav1.DeleteOptions{})
	require.NoError(t, err)
	require.NoError(t, c.kube.CoreV1().Namespaces().Delete(ctx, "team-a-by-admin", metav1.DeleteOptions{}))
	fail("create", "rolebindings", apierrors.NewServiceUnavailable("etcd is down"))(c)
	_, err = c.rest.Create(alice, newSpace("team-a-fails", teamA, nil), nil, &metav1.CreateOptions{})
	require.True(t, apierrors.IsServiceUnavailable(err), "unexpected error: %v", err)
	reserved, err = ledger.Reserved(ctx, teamA)
	require.NoError(t, err)
	assert.NotContains(t, reserved, "team-a-fails", "the failed create gave its place back")
	assert.NotContains(t, reserved, created[0], "the deleted Space gave its place back")
}
