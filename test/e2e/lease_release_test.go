package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// releaseBound is how soon after the leader's graceful stop a new process must lead: less
// than the lease duration, which a process that finds the Lease still held must wait out
// from the moment it first sees it.
const releaseBound = leaseDuration - 3*time.Second

// A graceful stop (SIGTERM, as a rolling update or an uninstall sends) of the leader gives the
// controllers' Lease up before the process exits: the Lease names no holder by the time the
// process is gone, and the next process leads at its first try instead of waiting out the
// lease duration.
func TestLeaseReleasedOnGracefulStop(t *testing.T) {
	if cluster.Replicas() != 1 {
		t.Fatalf("the test needs the control plane's one replica as the only candidate, not %d", cluster.Replicas())
	}
	kube := cluster.AdminClients(t).Kube
	replica := cluster.Replica(0)
	old := replica.Identity(t)
	eventually(t, "replica 0 leads", func(context.Context) bool { return cluster.LeaseHolder(t) == old })

	// Watch the Lease through the stop: it must be released before the process has exited.
	released := make(chan time.Time, 1)
	ctx, cancel := context.WithTimeout(context.Background(), replicaStopBound)
	defer cancel()
	go func() {
		defer close(released)
		_ = wait.PollUntilContextCancel(ctx, 20*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			h, err := framework.ReadLeaseHolder(ctx, kube)
			if err == nil && h != old {
				released <- time.Now()
				return true, nil
			}
			return false, nil
		})
	}()
	sigterm := time.Now()
	replica.Stop(t)
	exited := time.Now()
	at, ok := <-released
	require.True(t, ok, "the Lease is still held by %s after its process stopped", old)
	t.Logf("SIGTERM to the leader: Lease released after %s, process gone after %s",
		at.Sub(sigterm).Round(10*time.Millisecond), exited.Sub(sigterm).Round(10*time.Millisecond))
	assert.False(t, at.After(exited), "the Lease is released before the process exits")
	assert.Empty(t, cluster.LeaseHolder(t), "nobody holds the Lease once its leader has stopped")

	replica.Start(t)
	next := replica.Identity(t)
	require.NotEqual(t, old, next, "a new process")
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, time.Until(exited.Add(releaseBound)), true,
		func(ctx context.Context) (bool, error) {
			h, err := framework.ReadLeaseHolder(ctx, kube)
			return err == nil && h == next, nil
		})
	require.NoError(t, err, "the new process leads within %s of the old one's exit (lease duration %s); holder %q",
		releaseBound, leaseDuration, cluster.LeaseHolder(t))
	t.Logf("the new process leads %s after the old one exited", time.Since(exited).Round(10*time.Millisecond))
	require.NoError(t, cluster.WaitAPIServicesAvailable(context.Background(), 2*time.Minute))
}

// replicaStopBound bounds a graceful stop of a replica.
const replicaStopBound = time.Minute
