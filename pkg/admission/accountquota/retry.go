package accountquota

import (
	"context"
	"errors"
	"slices"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/raw"
)

// How a batch whose storage read or write failed for a passing reason (etcd electing a new
// leader, a member gone, a timeout) is tried again: each attempt has attemptTimeout, the first
// retry waits firstBackoff and each next one twice as long up to maxBackoff, and a request
// whose batch keeps failing gets the error retryBudget after it was submitted (or when its
// caller gives up first: kube-apiserver's timeoutSeconds of the webhook).
const (
	attemptTimeout = 2 * time.Second
	firstBackoff   = 50 * time.Millisecond
	maxBackoff     = 500 * time.Millisecond
	retryBudget    = 10 * time.Second
)

// retriable reports whether err is a storage failure that may pass: etcd unavailable, without
// a leader or changing it, or a read or write that timed out. A write that failed so may
// still have been stored.
func retriable(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	switch rpctypes.Error(err) {
	case rpctypes.ErrLeaderChanged, rpctypes.ErrNoLeader, rpctypes.ErrNotLeader, rpctypes.ErrTimeout, rpctypes.ErrTimeoutDueToLeaderFail,
		rpctypes.ErrTimeoutDueToConnectionLost, rpctypes.ErrTimeoutWaitAppliedIndex, rpctypes.ErrTooManyRequests,
		rpctypes.ErrStopped, rpctypes.ErrNotCapable:
		return true
	}
	s, ok := status.FromError(err)
	return ok && (s.Code() == codes.Unavailable || s.Code() == codes.DeadlineExceeded)
}

// unsure is a batch whose write failed in a way that does not tell whether it was stored.
type unsure struct {
	batch   []*pending
	results []error
	swaps   []raw.Swap
}

// stored reports whether the write of u is what the storage holds: every quota it changed
// holds the version it wrote. The versions carry the time of the charge, so no other write
// stores the same bytes.
func (h *Webhook) stored(ctx context.Context, u *unsure) (bool, error) {
	changed := false
	for _, s := range u.swaps {
		if s.Next == nil {
			continue
		}
		changed = true
		v, err := h.Charger.Current(ctx, s.Name, true)
		if err != nil {
			return false, err
		}
		if !v.Same(s.Next) {
			return false, nil
		}
	}
	return changed, nil
}

// backoff is the pause before retry n (0 for the first).
func backoff(n int) time.Duration {
	d := firstBackoff << min(n, 10)
	return min(d, maxBackoff)
}

// settle answers the requests of u that are still in batch with the decisions that were
// stored, and returns the rest of batch.
func (u *unsure) settle(batch []*pending) []*pending {
	for i, p := range u.batch {
		if j := slices.Index(batch, p); j >= 0 {
			p.done <- u.results[i]
			batch = slices.Delete(batch, j, j+1)
		}
	}
	return batch
}
