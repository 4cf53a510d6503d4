package webhook

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// StartWait is how long a webhook's request waits after a start for the caches it decides
// from, well within kube-apiserver's webhook timeout.
const StartWait = 3 * time.Second

// WaitReady reports whether ready holds, waiting for it up to StartWait after a start, so
// that a request sent at that moment is decided rather than refused. A nil ready holds.
func WaitReady(ctx context.Context, ready func() bool) bool {
	if ready == nil || ready() {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, StartWait)
	defer cancel()
	return wait.PollUntilContextCancel(ctx, 20*time.Millisecond, true, func(context.Context) (bool, error) {
		return ready(), nil
	}) == nil
}
