// Package activity records what counts as activity in a Space for sleep mode: the activity
// webhook (writes, exec, attach and port-forward in Spaces), a get of one Space, and the
// optional audit sink (reads too). Each activity lands in the Space's
// sleepmode.loft.sh/last-activity annotation, at most once a minute, except that the first
// activity in a sleeping Space is written at once, so that the controller wakes it.
package activity

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/sleep"
)

// Interval is how often at most a Space's last activity is written.
const Interval = time.Minute

// retryAfter is how long a failed write waits before it is tried again.
const retryAfter = 5 * time.Second

// Recorder writes the last activity of Spaces.
type Recorder struct {
	// Space returns the namespace of a Space, from the access index; false when there is none.
	Space func(name string) (*corev1.Namespace, bool)
	// Write records at as the last activity of the Space name, unless a later one is
	// recorded already.
	Write func(ctx context.Context, name string, at time.Time) error
	// Self reports whether a user is this server, whose own requests never count.
	Self func(user string) bool
	// Now is the clock.
	Now func() time.Time

	once    sync.Once
	mu      sync.Mutex
	latest  map[string]time.Time
	written map[string]time.Time
	// pruned is when written last lost the entries older than Interval.
	pruned time.Time
	queue  workqueue.TypedDelayingInterface[string]
}

func (r *Recorder) init() {
	r.once.Do(func() {
		r.latest, r.written = map[string]time.Time{}, map[string]time.Time{}
		r.queue = workqueue.NewTypedDelayingQueueWithConfig(workqueue.TypedDelayingQueueConfig[string]{Name: "sleep-activity"})
		if r.Now == nil {
			r.Now = time.Now
		}
	})
}

// Observe records req in the Space namespace when it counts as activity there, and reports
// whether it did. It never waits for a write.
func (r *Recorder) Observe(req sleep.Request, namespace, source string) bool {
	if namespace == "" || !sleep.Counts(req, r.Self) {
		return false
	}
	ns, ok := r.Space(namespace)
	if !ok || !sleep.Enabled(ns.Annotations) {
		return false
	}
	r.init()
	now := r.Now()
	r.mu.Lock()
	r.latest[namespace] = now
	stored := sleep.Unix(ns.Annotations, sleep.LastActivity)
	if w := r.written[namespace]; w.After(stored) {
		stored = w
	}
	r.mu.Unlock()
	observed(source)
	since := sleep.Unix(ns.Annotations, sleep.SleepingSince)
	wakes := !since.IsZero() && !stored.After(since) && ns.Annotations[sleep.Force] != "true"
	if due := stored.Add(Interval); wakes || !now.Before(due) {
		r.queue.Add(namespace)
	} else {
		r.queue.AddAfter(namespace, due.Sub(now))
	}
	return true
}

// Run writes the recorded activity until ctx ends.
func (r *Recorder) Run(ctx context.Context) {
	r.init()
	go func() {
		<-ctx.Done()
		r.queue.ShutDown()
	}()
	for {
		name, quit := r.queue.Get()
		if quit {
			return
		}
		r.write(ctx, name)
		r.queue.Done(name)
	}
}

func (r *Recorder) write(ctx context.Context, name string) {
	r.mu.Lock()
	at, ok := r.latest[name]
	delete(r.latest, name)
	r.mu.Unlock()
	if !ok {
		return
	}
	if err := r.Write(ctx, name, at); err != nil {
		klog.ErrorS(err, "Recording the last activity of a Space; retrying", "space", name)
		r.mu.Lock()
		if later, ok := r.latest[name]; !ok || later.Before(at) {
			r.latest[name] = at
		}
		r.mu.Unlock()
		r.queue.AddAfter(name, retryAfter)
		return
	}
	r.mu.Lock()
	r.written[name] = at
	r.prune()
	r.mu.Unlock()
}

// prune drops, at most once an Interval, what written holds for longer than an Interval: a
// write that old is due again whatever its time, and a Space that is gone must not stay in
// the map. Callers hold r.mu.
func (r *Recorder) prune() {
	now := r.Now()
	if now.Sub(r.pruned) < Interval {
		return
	}
	r.pruned = now
	for name, at := range r.written {
		if now.Sub(at) > Interval {
			delete(r.written, name)
		}
	}
}
