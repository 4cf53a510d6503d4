package hub

import (
	"context"
	"sort"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/klog/v2"
)

// Source is one cluster of a merged watch, as the caller sees it there.
type Source struct {
	// Cluster is the cluster's name, Local for the hub's own.
	Cluster string
	// Stable sources do not go away: a broken watch of one ends the merged watch. The hub's
	// own cluster is stable; members are not.
	Stable bool
	// List returns the objects the caller sees in the cluster now and the cluster's
	// resourceVersion of that state.
	List func(ctx context.Context) ([]runtime.Object, string, error)
	// Watch watches the cluster from rv; rv "" starts with the current state as ADDED
	// events, which end in a bookmark marking their end when initialEvents is set.
	Watch func(ctx context.Context, rv string, initialEvents bool) (watch.Interface, error)
}

// WatchOptions say where a merged watch starts and what it sends.
type WatchOptions struct {
	// Start is the position the client stands at. Members it lacks start from their current
	// state, sent as ADDED events.
	Start Position
	// Fresh starts every source from its current state (resourceVersion "" or "0").
	Fresh bool
	// InitialEvents sends, after the current state of every source answering at the start,
	// one bookmark marking the end of the initial events (sendInitialEvents).
	InitialEvents bool
	// Bookmarks forwards bookmarks, with the merged position.
	Bookmarks bool
	// Retry is how often a member that went away is asked again.
	Retry time.Duration
	// NewObject returns an empty object for bookmarks.
	NewObject func() runtime.Object
	// Tag marks an object of cluster as coming from there.
	Tag func(cluster string, obj runtime.Object)
}

type sourceEvent struct {
	cluster string
	event   *watch.Event
	// reset replaces the objects known of the cluster; emit sends them as ADDED and moves
	// the cluster's position to rv.
	reset     []runtime.Object
	isReset   bool
	emit      bool
	rv        string
	down      bool
	fatal     *watch.Event
	closedAll bool
}

type merged struct {
	opts    WatchOptions
	cancel  context.CancelFunc
	in      chan sourceEvent
	result  chan watch.Event
	pending map[string]bool
}

// Watch merges the watches of sources into one watch whose objects are tagged with their
// cluster and carry the merged position as resourceVersion. A member that goes away emits
// DELETED for the objects it had, and ADDED for them when it answers again. A position too
// old in any cluster ends the watch with 410 Gone.
func Watch(ctx context.Context, sources []Source, opts WatchOptions) (watch.Interface, error) {
	if opts.Retry <= 0 {
		opts.Retry = time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	m := &merged{opts: opts, cancel: cancel, in: make(chan sourceEvent), result: make(chan watch.Event), pending: map[string]bool{}}
	position := Position{}
	starts := make([]func(), 0, len(sources))
	for _, src := range sources {
		rv, known := opts.Start[src.Cluster]
		var start func()
		switch {
		case opts.Fresh:
			w, err := src.Watch(ctx, "", opts.InitialEvents)
			if err != nil {
				// A member that refuses the caller is asked again, like one that does not
				// answer: what it refuses now it may allow later.
				if src.Stable || isStatus(err) && !apierrors.IsForbidden(err) {
					cancel()
					return nil, err
				}
				start = func() { m.runDown(ctx, src) }
				break
			}
			if opts.InitialEvents {
				m.pending[src.Cluster] = true
			}
			start = func() { m.run(ctx, src, w, "") }
		case known:
			// The client holds the cluster's objects as of rv: learn which they are, so that
			// they can be deleted should the member go away, then go on from rv.
			var objs []runtime.Object
			if !src.Stable {
				var err error
				if objs, _, err = src.List(ctx); err != nil {
					cancel()
					return nil, gone(src.Cluster, err)
				}
			}
			w, err := src.Watch(ctx, rv, false)
			if err != nil {
				cancel()
				if src.Stable || isStatus(err) {
					return nil, err
				}
				return nil, gone(src.Cluster, err)
			}
			position[src.Cluster] = rv
			start = func() {
				if objs != nil {
					m.send(ctx, sourceEvent{cluster: src.Cluster, isReset: true, reset: objs, rv: rv})
				}
				m.run(ctx, src, w, rv)
			}
		default:
			if src.Stable {
				cancel()
				return nil, apierrors.NewResourceExpired("the resourceVersion has no position of the hub's own cluster")
			}
			start = func() { m.runDown(ctx, src) }
		}
		starts = append(starts, start)
	}
	for _, name := range opts.Start.clusters() {
		if !hasSource(sources, name) {
			cancel()
			return nil, apierrors.NewResourceExpired("the resourceVersion names cluster " + quote(name) + ", which is not a member any more")
		}
	}
	for _, s := range starts {
		go s()
	}
	go m.loop(ctx, position)
	return m, nil
}

func (p Position) clusters() []string {
	names := make([]string, 0, len(p))
	for k := range p {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

func hasSource(sources []Source, cluster string) bool {
	for _, s := range sources {
		if s.Cluster == cluster {
			return true
		}
	}
	return false
}

func quote(s string) string { return "\"" + s + "\"" }

func isStatus(err error) bool {
	_, ok := err.(apierrors.APIStatus)
	return ok && !apierrors.IsServiceUnavailable(err) && !apierrors.IsInternalError(err) &&
		!apierrors.IsTimeout(err) && !apierrors.IsServerTimeout(err) && !apierrors.IsTooManyRequests(err)
}

// gone is the 410 of a watch that cannot go on from where the client stands in cluster.
func gone(cluster string, err error) error {
	if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) {
		return err
	}
	return apierrors.NewResourceExpired("cluster " + quote(cluster) + " cannot continue from the resourceVersion: " + err.Error())
}

// Stop ends the watch.
func (m *merged) Stop() { m.cancel() }

// ResultChan returns the merged events.
func (m *merged) ResultChan() <-chan watch.Event { return m.result }

func (m *merged) send(ctx context.Context, e sourceEvent) bool {
	select {
	case m.in <- e:
		return true
	case <-ctx.Done():
		return false
	}
}

// run forwards the events of one cluster's watch, watches again from the last position when
// the watch ends, and reports the member gone when it no longer answers.
func (m *merged) run(ctx context.Context, src Source, w watch.Interface, rv string) {
	for {
		rv = m.forward(ctx, src, w, rv)
		if ctx.Err() != nil || rv == "\x00" {
			return
		}
		if src.Stable {
			// The hub's own watch ended (a slow client, a timeout): end the merged watch so
			// the client watches again from where it stands.
			m.send(ctx, sourceEvent{closedAll: true})
			return
		}
		next, err := src.Watch(ctx, rv, false)
		if err == nil {
			w = next
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if isStatus(err) && !apierrors.IsForbidden(err) {
			m.send(ctx, sourceEvent{fatal: errorEvent(err)})
			return
		}
		klog.V(2).InfoS("Member cluster went away during a watch", "cluster", src.Cluster, "err", err)
		if !m.send(ctx, sourceEvent{cluster: src.Cluster, down: true}) {
			return
		}
		m.runDown(ctx, src)
		return
	}
}

// forward sends the events of w until it ends, and returns the last position, or "\x00"
// after an error that ends the merged watch.
func (m *merged) forward(ctx context.Context, src Source, w watch.Interface, rv string) string {
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return rv
		case e, ok := <-w.ResultChan():
			if !ok {
				return rv
			}
			if e.Type == watch.Error {
				err := apierrors.FromObject(e.Object)
				if apierrors.IsResourceExpired(err) || apierrors.IsGone(err) || src.Stable {
					m.send(ctx, sourceEvent{fatal: &e})
					return "\x00"
				}
				// Anything else the member says ends its watch; it is watched again.
				return rv
			}
			if a, err := meta.Accessor(e.Object); err == nil && a.GetResourceVersion() != "" {
				rv = a.GetResourceVersion()
			}
			if !m.send(ctx, sourceEvent{cluster: src.Cluster, event: &e}) {
				return rv
			}
		}
	}
}

// runDown asks a member that is not answering again every Retry; once it answers, its
// objects are sent as ADDED and it is watched from there.
func (m *merged) runDown(ctx context.Context, src Source) {
	t := time.NewTicker(m.opts.Retry)
	defer t.Stop()
	for {
		objs, rv, err := src.List(ctx)
		if err == nil {
			w, werr := src.Watch(ctx, rv, false)
			if werr == nil {
				if !m.send(ctx, sourceEvent{cluster: src.Cluster, isReset: true, emit: true, reset: objs, rv: rv}) {
					w.Stop()
					return
				}
				m.run(ctx, src, w, rv)
				return
			}
			err = werr
		}
		klog.V(4).InfoS("Member cluster not answering", "cluster", src.Cluster, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func errorEvent(err error) *watch.Event {
	status := apierrors.NewInternalError(err).ErrStatus
	if s, ok := err.(apierrors.APIStatus); ok {
		status = s.Status()
	}
	return &watch.Event{Type: watch.Error, Object: &status}
}

// loop owns the merged position and the objects known per cluster, and writes the result.
func (m *merged) loop(ctx context.Context, position Position) {
	defer close(m.result)
	defer m.cancel()
	known := map[string]map[string]runtime.Object{}
	initialSent := !m.opts.InitialEvents
	emit := func(t watch.EventType, cluster string, obj runtime.Object) bool {
		obj = obj.DeepCopyObject()
		m.opts.Tag(cluster, obj)
		if a, err := meta.Accessor(obj); err == nil {
			a.SetResourceVersion(position.String())
		}
		select {
		case m.result <- watch.Event{Type: t, Object: obj}:
			return true
		case <-ctx.Done():
			return false
		}
	}
	bookmark := func(end bool) bool {
		obj := m.opts.NewObject()
		a, _ := meta.Accessor(obj)
		a.SetResourceVersion(position.String())
		if end {
			a.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
		}
		select {
		case m.result <- watch.Event{Type: watch.Bookmark, Object: obj}:
			return true
		case <-ctx.Done():
			return false
		}
	}
	settle := func(cluster string) bool {
		if initialSent || !m.pending[cluster] {
			return true
		}
		delete(m.pending, cluster)
		if len(m.pending) > 0 {
			return true
		}
		initialSent = true
		return bookmark(true)
	}
	for {
		var e sourceEvent
		select {
		case <-ctx.Done():
			return
		case e = <-m.in:
		}
		switch {
		case e.closedAll:
			return
		case e.fatal != nil:
			select {
			case m.result <- *e.fatal:
			case <-ctx.Done():
			}
			return
		case e.down:
			// Delete what the member had, at a position without the member.
			position = position.With(e.cluster, "")
			for _, name := range sortedNames(known[e.cluster]) {
				if !emit(watch.Deleted, e.cluster, known[e.cluster][name]) {
					return
				}
			}
			delete(known, e.cluster)
			if !settle(e.cluster) {
				return
			}
		case e.isReset:
			objs := map[string]runtime.Object{}
			for _, o := range e.reset {
				if a, err := meta.Accessor(o); err == nil {
					objs[a.GetName()] = o
				}
			}
			known[e.cluster] = objs
			if e.emit {
				position = position.With(e.cluster, e.rv)
				for _, name := range sortedNames(objs) {
					if !emit(watch.Added, e.cluster, objs[name]) {
						return
					}
				}
			}
		case e.event != nil:
			a, err := meta.Accessor(e.event.Object)
			if err != nil {
				continue
			}
			if rv := a.GetResourceVersion(); rv != "" {
				position = position.With(e.cluster, rv)
			}
			if e.event.Type == watch.Bookmark {
				if a.GetAnnotations()[metav1.InitialEventsAnnotationKey] == "true" {
					if !settle(e.cluster) {
						return
					}
				} else if m.opts.Bookmarks && initialSent && !bookmark(false) {
					return
				}
				continue
			}
			if known[e.cluster] == nil {
				known[e.cluster] = map[string]runtime.Object{}
			}
			if e.event.Type == watch.Deleted {
				delete(known[e.cluster], a.GetName())
			} else {
				known[e.cluster][a.GetName()] = e.event.Object
			}
			if !emit(e.event.Type, e.cluster, e.event.Object) {
				return
			}
		}
	}
}

func sortedNames(objs map[string]runtime.Object) []string {
	names := make([]string, 0, len(objs))
	for n := range objs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
