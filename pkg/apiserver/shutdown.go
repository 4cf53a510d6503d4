package apiserver

import (
	"context"
	"sync"
	"time"

	"k8s.io/klog/v2"
)

// releaseTimeout bounds how long shutdown waits for the controllers to stop and the Lease to
// be released: past it, the process goes on exiting and the Lease expires on its own.
const releaseTimeout = 15 * time.Second

// shutdownGate lets a pre-shutdown hook stop work a post-start hook started, and wait until
// it has finished.
type shutdownGate struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

func newShutdownGate() *shutdownGate { return &shutdownGate{} }

// start returns the context the work runs in, cancelled by stop, and the function the work
// calls when it has finished.
func (g *shutdownGate) start(parent context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(parent)
	done := make(chan struct{})
	g.mu.Lock()
	g.cancel, g.done = cancel, done
	g.mu.Unlock()
	return ctx, func() { close(done) }
}

// stop cancels the work and waits, up to releaseTimeout, until it has finished. It returns at
// once when the work never started.
func (g *shutdownGate) stop() error {
	g.mu.Lock()
	cancel, done := g.cancel, g.done
	g.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case <-done:
	case <-time.After(releaseTimeout):
		klog.InfoS("Controllers did not stop in time; the Lease is left to expire", "timeout", releaseTimeout)
	}
	return nil
}
