package access

import (
	"context"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// WatchOptions says what a watch reports and how.
type WatchOptions[T comparable] struct {
	// Subject is who watches.
	Subject Subject
	// Everything is set for a caller that may see every object by other means.
	Everything bool
	// Recheck, when set with Everything, answers again whether the caller still sees every
	// object by other means. The watch asks it when it starts and whenever cluster-wide
	// RBAC changes; once it answers false, the watch reports DELETED for every object the
	// caller no longer sees and follows the caller's own grants from then on. An error ends
	// the watch.
	Recheck func(context.Context) (bool, error)
	// Filter, when set, limits the watch to the objects it accepts (label and field
	// selectors). An object that stops matching is reported DELETED, one that starts ADDED.
	Filter func(T) bool
	// Revision is where the watch starts: events after it are sent. Zero starts now.
	Revision uint64
	// SendInitial sends an ADDED event for every visible object at the start. The watch
	// then starts at the current revision, which is at least Revision.
	SendInitial bool
	// InitialEventsEnd sends, after the initial events, a bookmark that marks their end.
	InitialEventsEnd bool
	// Bookmarks sends a bookmark with the current revision every BookmarkInterval.
	Bookmarks bool
	// Convert makes the object sent for obj in an event at revision rev.
	Convert func(obj T, rev uint64) runtime.Object
	// Bookmark makes the object of a bookmark at revision rev.
	Bookmark func(rev uint64, initialEventsEnd bool) runtime.Object
}

// watcher is one open watch. The view hands it steps without ever blocking; the watcher's
// own goroutine works out its events and sends them at the client's pace. A watcher whose
// backlog fills is closed, so that one slow client never holds up the view or the others.
type watcher[T comparable] struct {
	view *View[T]
	keys []string
	// everything is what the watcher's events are worked out with; only its goroutine
	// uses it. allSeeing is whether the view hands it steps as a watcher that sees
	// everything; the view's mutex guards it.
	everything bool
	allSeeing  bool
	recheck    chan struct{}
	opts       WatchOptions[T]
	interval   time.Duration
	// recheckTimeout bounds how long asking Recheck may take.
	recheckTimeout time.Duration

	backlog  chan *step[T]
	lagged   chan struct{}
	lagOnce  sync.Once
	stopped  chan struct{}
	stopOnce sync.Once
	result   chan watch.Event
	lastRev  uint64
}

var _ watch.Interface = &watcher[*struct{}]{}

// ResultChan returns the events. It is closed when the watch ends.
func (w *watcher[T]) ResultChan() <-chan watch.Event { return w.result }

// Stop ends the watch. It may be called any number of times, from any goroutine.
func (w *watcher[T]) Stop() { w.stopOnce.Do(func() { close(w.stopped) }) }

// deliver hands a step over without blocking. Callers hold the view's mutex.
func (w *watcher[T]) deliver(st *step[T]) {
	select {
	case w.backlog <- st:
	default:
		w.lagOnce.Do(func() {
			close(w.lagged)
			w.view.nClosedLag.Add(1)
		})
	}
}

// Watch starts a watch. A revision older than the view's history fails with
// ErrRevisionGone; one the view does not reach within a few seconds fails with
// ErrRevisionTooLarge.
func (v *View[T]) Watch(ctx context.Context, opts WatchOptions[T], cfg WatchConfig) (watch.Interface, error) {
	if cur := v.current.Load(); opts.Revision > cur.rev {
		wait, cancel := context.WithTimeout(ctx, cfg.TooLargeWait)
		err := v.WaitFor(wait, func(s *Snapshot[T]) bool { return s.rev >= opts.Revision })
		cancel()
		if err != nil {
			return nil, revisionError(ErrRevisionTooLarge, opts.Revision, v.current.Load().rev)
		}
	}
	w := &watcher[T]{
		view:           v,
		keys:           opts.Subject.keys(),
		everything:     opts.Everything,
		allSeeing:      opts.Everything,
		recheck:        make(chan struct{}, 1),
		opts:           opts,
		interval:       cfg.BookmarkInterval,
		recheckTimeout: cfg.RecheckTimeout,
		backlog:        make(chan *step[T], cfg.Backlog),
		lagged:         make(chan struct{}),
		stopped:        make(chan struct{}),
		result:         make(chan watch.Event),
	}
	v.mu.Lock()
	start := v.current.Load()
	var replay []*step[T]
	if !opts.SendInitial && opts.Revision != 0 && opts.Revision < start.rev {
		i, ok := v.replayFrom(opts.Revision)
		if !ok {
			oldest := start.rev
			if len(v.history) > 0 {
				oldest = v.history[0].prev.rev
			}
			v.mu.Unlock()
			return nil, revisionError(ErrRevisionGone, opts.Revision, oldest)
		}
		replay = slices.Clone(v.history[i:])
	}
	v.register(w)
	v.mu.Unlock()
	if w.everything && opts.Recheck != nil {
		// Cluster-wide RBAC may have changed between the caller's decision and now.
		w.recheck <- struct{}{}
	}
	go w.run(ctx, start, replay)
	return w, nil
}

func (w *watcher[T]) run(ctx context.Context, start *Snapshot[T], replay []*step[T]) {
	defer close(w.result)
	defer w.view.unregister(w)
	w.lastRev = start.rev
	if w.opts.SendInitial {
		if !w.sendInitial(start) {
			return
		}
	} else {
		if w.opts.Revision != 0 {
			w.lastRev = w.opts.Revision
		}
		for _, st := range replay {
			if !w.apply(st) {
				return
			}
		}
		w.lastRev = start.rev
	}
	var tick <-chan time.Time
	if w.opts.Bookmarks && w.opts.Bookmark != nil && w.interval > 0 {
		t := time.NewTicker(w.interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case st := <-w.backlog:
			if !w.apply(st) {
				return
			}
		case <-tick:
			if !w.bookmark() {
				return
			}
		case <-w.recheck:
			if !w.reassess(ctx) {
				return
			}
		case <-w.lagged:
			return
		case <-w.stopped:
			return
		case <-ctx.Done():
			return
		}
	}
}

// bookmark reports the current revision, once every step up to it has been handled.
func (w *watcher[T]) bookmark() bool {
	cur := w.view.current.Load()
	select {
	case st := <-w.backlog:
		return w.apply(st)
	default:
	}
	if cur.rev <= w.lastRev {
		return true
	}
	w.lastRev = cur.rev
	return w.send(watch.Event{Type: watch.Bookmark, Object: w.opts.Bookmark(cur.rev, false)})
}

func (w *watcher[T]) sendInitial(start *Snapshot[T]) bool {
	for _, name := range start.Names(w.opts.Subject, w.everything) {
		obj, _ := start.objects.get(name)
		if w.opts.Filter != nil && !w.opts.Filter(obj) {
			continue
		}
		if !w.send(watch.Event{Type: watch.Added, Object: w.opts.Convert(obj, start.rev)}) {
			return false
		}
	}
	if w.opts.InitialEventsEnd && w.opts.Bookmark != nil {
		return w.send(watch.Event{Type: watch.Bookmark, Object: w.opts.Bookmark(start.rev, true)})
	}
	return true
}

func (w *watcher[T]) send(ev watch.Event) bool {
	select {
	case w.result <- ev:
		return true
	case <-w.lagged:
	case <-w.stopped:
	}
	return false
}

// reassess asks again whether a watcher that sees everything by other means still does.
// One that no longer does is handed to the view as a watcher of its own keys, and gets, in
// order with every other step, a step that revokes its right to see everything: from that
// step on its events follow its grants, as after a RoleBinding revocation.
func (w *watcher[T]) reassess(ctx context.Context) bool {
	if w.opts.Recheck == nil {
		return true
	}
	if w.recheckTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, w.recheckTimeout)
		defer cancel()
	}
	still, err := w.opts.Recheck(ctx)
	if err != nil {
		return false
	}
	if still {
		return true
	}
	v := w.view
	v.mu.Lock()
	defer v.mu.Unlock()
	if w.allSeeing {
		delete(v.allSeeing, w)
		w.allSeeing = false
		v.registerKeys(w)
		cur := v.current.Load()
		w.deliver(&step[T]{prev: cur, next: cur, revokesEverything: true})
	}
	return true
}

// apply sends the events a step means for this watcher.
func (w *watcher[T]) apply(st *step[T]) bool {
	if st.rev() <= w.lastRev && !st.revokesEverything {
		return true
	}
	was := w.everything
	if st.revokesEverything {
		w.everything = false
	}
	for _, name := range w.candidates(st, was) {
		if ev, ok := w.event(st, name, was); ok && !w.send(ev) {
			return false
		}
	}
	w.lastRev = max(w.lastRev, st.rev())
	return true
}

// candidates are the names whose visibility or object a step may have changed for the
// watcher, sorted. was is whether the watcher saw everything before the step.
func (w *watcher[T]) candidates(st *step[T], was bool) []string {
	var names []string
	full := was != w.everything
	if !w.everything {
		for _, k := range st.everything {
			if slices.Contains(w.keys, k) {
				full = true
				break
			}
		}
	}
	if full {
		for name := range st.prev.objects.all() {
			names = append(names, name)
		}
		for name := range st.next.objects.all() {
			names = append(names, name)
		}
	} else {
		names = append(names, st.objects...)
		if !w.everything {
			for _, k := range w.keys {
				names = append(names, st.grants[k]...)
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func (w *watcher[T]) visibleIn(s *Snapshot[T], name string, everything bool) (T, bool) {
	obj, ok := s.objects.get(name)
	if !ok || !(everything || s.sees(w.keys, name)) {
		return obj, false
	}
	if w.opts.Filter != nil && !w.opts.Filter(obj) {
		return obj, false
	}
	return obj, true
}

// event is what a step means for one name: was is whether the watcher saw everything
// before the step, w.everything whether it does after.
func (w *watcher[T]) event(st *step[T], name string, was bool) (watch.Event, bool) {
	before, wasVisible := w.visibleIn(st.prev, name, was)
	after, is := w.visibleIn(st.next, name, w.everything)
	rev := st.rev()
	switch {
	case !wasVisible && is:
		return watch.Event{Type: watch.Added, Object: w.opts.Convert(after, rev)}, true
	case wasVisible && !is:
		last := before
		if current, exists := st.next.objects.get(name); exists {
			last = current
		}
		return watch.Event{Type: watch.Deleted, Object: w.opts.Convert(last, rev)}, true
	case wasVisible && is && before != after:
		return watch.Event{Type: watch.Modified, Object: w.opts.Convert(after, rev)}, true
	}
	return watch.Event{}, false
}

// WatchConfig tunes watches.
type WatchConfig struct {
	// Backlog is how many steps a watcher may fall behind before it is closed.
	Backlog int
	// BookmarkInterval is how often a watch that asked for bookmarks gets one.
	BookmarkInterval time.Duration
	// TooLargeWait is how long a watch from a revision ahead of the view waits for it.
	TooLargeWait time.Duration
	// RecheckTimeout is how long a watch waits for WatchOptions.Recheck to answer before
	// it ends.
	RecheckTimeout time.Duration
}

// DefaultWatchConfig is what the server uses. Bookmarks come once a minute, as from
// kube-apiserver's watch cache: well within the history's five minutes, and each one is a
// frame the server's HTTP/2 connection to kube-apiserver writes, whose write scheduler
// walks every open stream of that connection to find it (with 1,000 idle watches, bookmarks
// every 10 seconds made that walk the largest part of the server's CPU).
var DefaultWatchConfig = WatchConfig{Backlog: 256, BookmarkInterval: time.Minute, TooLargeWait: 3 * time.Second,
	RecheckTimeout: 10 * time.Second}
