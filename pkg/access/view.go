package access

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

var (
	// ErrRevisionGone means a watch asked to start at a revision older than the history the
	// view keeps. The client must list again (HTTP 410 Gone).
	ErrRevisionGone = errors.New("revision is too old")
	// ErrRevisionTooLarge means a watch asked to start at a revision the view has not
	// reached within the wait allowed.
	ErrRevisionTooLarge = errors.New("revision is not reached yet")
)

// step is one published change of a view: the snapshots before and after, and what changed,
// so that a watcher can work out its own events without looking at anything else.
type step[T comparable] struct {
	prev, next *Snapshot[T]
	// objects are the names whose object was added, changed or removed.
	objects []string
	// grants maps a subject key to the names it gained or lost one by one.
	grants map[string][]string
	// everything are the keys that gained or lost the right to see every object.
	everything []string
	// revokesEverything marks a step made for one watcher that no longer sees every
	// object by other means; prev and next are then the same snapshot.
	revokesEverything bool
	// at is when the step was published.
	at time.Time
}

func (st *step[T]) rev() uint64 { return st.next.rev }

// View is one kind of object (Spaces or Accounts) with who may see each, its history and
// its watchers.
type View[T comparable] struct {
	historySize int
	historyAge  time.Duration
	now         func() time.Time

	// Writer state, guarded by the Index's mutex.
	work      Snapshot[T]
	refs      map[string]map[string]int // key -> name -> number of grants
	everyRefs map[string]int            // key -> number of see-everything grants
	keysOf    map[string]map[string]struct{}
	pending   *step[T]
	// While loading, changes are made in place in work, nothing is published and no step
	// is recorded; loadRev is the revision the first snapshot will be published at.
	loading     bool
	loadChanged bool
	loadPending bool
	loadRev     uint64

	current atomic.Pointer[Snapshot[T]]

	mu         sync.Mutex // guards what follows, and orders publication with watch starts
	history    []*step[T] // oldest first, at most historySize, none older than historyAge
	byKey      map[string]map[*watcher[T]]struct{}
	allSeeing  map[*watcher[T]]struct{}
	changed    chan struct{}
	nWatchers  atomic.Int64
	nClosedLag atomic.Int64
}

func newView[T comparable](historySize int, historyAge time.Duration, now func() time.Time, loading bool) *View[T] {
	v := &View[T]{
		historySize: historySize,
		historyAge:  historyAge,
		now:         now,
		loading:     loading,
		refs:        map[string]map[string]int{},
		everyRefs:   map[string]int{},
		keysOf:      map[string]map[string]struct{}{},
		byKey:       map[string]map[*watcher[T]]struct{}{},
		allSeeing:   map[*watcher[T]]struct{}{},
		changed:     make(chan struct{}),
	}
	v.current.Store(&Snapshot[T]{})
	return v
}

// Snapshot returns the current snapshot. It never waits for a writer.
func (v *View[T]) Snapshot() *Snapshot[T] { return v.current.Load() }

// SnapshotAt returns the snapshot that was current at revision rev, or nil if the history
// no longer reaches back that far.
func (v *View[T]) SnapshotAt(rev uint64) *Snapshot[T] {
	cur := v.current.Load()
	if rev >= cur.rev {
		if rev == cur.rev {
			return cur
		}
		return nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	i, ok := v.replayFrom(rev)
	if !ok {
		return nil
	}
	if i == len(v.history) {
		return v.current.Load()
	}
	return v.history[i].prev
}

// replayFrom returns the index of the first step after rev, and false when the history
// does not reach back to rev. Callers hold v.mu.
func (v *View[T]) replayFrom(rev uint64) (int, bool) {
	if len(v.history) == 0 {
		return 0, rev >= v.current.Load().rev
	}
	if rev < v.history[0].prev.rev {
		return 0, false
	}
	i, _ := slices.BinarySearchFunc(v.history, rev, func(st *step[T], r uint64) int {
		switch {
		case st.rev() <= r:
			return -1
		default:
			return 1
		}
	})
	return i, true
}

// WaitFor blocks until cond holds for the current snapshot, or ctx ends. It wakes on every
// publication, never by polling.
func (v *View[T]) WaitFor(ctx context.Context, cond func(*Snapshot[T]) bool) error {
	for {
		v.mu.Lock()
		changed := v.changed
		v.mu.Unlock()
		if cond(v.current.Load()) {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Watchers is the number of open watches.
func (v *View[T]) Watchers() int64 { return v.nWatchers.Load() }

// SlowWatchersClosed is the number of watches closed because their client did not keep up.
func (v *View[T]) SlowWatchersClosed() int64 { return v.nClosedLag.Load() }

// step is the step being made, or nil while the view loads.
func (v *View[T]) step() *step[T] {
	if v.loading {
		v.loadPending = true
		return nil
	}
	if v.pending == nil {
		v.pending = &step[T]{grants: map[string][]string{}}
	}
	return v.pending
}

func (v *View[T]) setObject(name string, obj T) {
	v.work.objects = setIn(v.work.objects, v.loading, name, obj)
	if st := v.step(); st != nil {
		st.objects = append(st.objects, name)
	}
}

func (v *View[T]) deleteObject(name string) {
	if !v.work.objects.has(name) {
		return
	}
	v.work.objects = delIn(v.work.objects, v.loading, name)
	if st := v.step(); st != nil {
		st.objects = append(st.objects, name)
	}
}

func (v *View[T]) addGrant(key, name string) {
	names := v.refs[key]
	if names == nil {
		names = map[string]int{}
		v.refs[key] = names
	}
	names[name]++
	if names[name] > 1 {
		return
	}
	granted, _ := v.work.grants.get(key)
	v.work.grants = setIn(v.work.grants, v.loading, key, setIn(granted, v.loading, name, struct{}{}))
	keys := v.keysOf[name]
	if keys == nil {
		keys = map[string]struct{}{}
		v.keysOf[name] = keys
	}
	keys[key] = struct{}{}
	if st := v.step(); st != nil {
		st.grants[key] = append(st.grants[key], name)
	}
}

func (v *View[T]) removeGrant(key, name string) {
	names := v.refs[key]
	if names[name] == 0 {
		return
	}
	names[name]--
	if names[name] > 0 {
		return
	}
	delete(names, name)
	if len(names) == 0 {
		delete(v.refs, key)
	}
	granted, _ := v.work.grants.get(key)
	if granted = delIn(granted, v.loading, name); granted.len() == 0 {
		v.work.grants = delIn(v.work.grants, v.loading, key)
	} else {
		v.work.grants = setIn(v.work.grants, v.loading, key, granted)
	}
	delete(v.keysOf[name], key)
	if len(v.keysOf[name]) == 0 {
		delete(v.keysOf, name)
	}
	if st := v.step(); st != nil {
		st.grants[key] = append(st.grants[key], name)
	}
}

func (v *View[T]) addEverything(key string) {
	v.everyRefs[key]++
	if v.everyRefs[key] > 1 {
		return
	}
	v.work.everything = setIn(v.work.everything, v.loading, key, struct{}{})
	if st := v.step(); st != nil {
		st.everything = append(st.everything, key)
	}
}

func (v *View[T]) removeEverything(key string) {
	if v.everyRefs[key] == 0 {
		return
	}
	v.everyRefs[key]--
	if v.everyRefs[key] > 0 {
		return
	}
	delete(v.everyRefs, key)
	v.work.everything = delIn(v.work.everything, v.loading, key)
	if st := v.step(); st != nil {
		st.everything = append(st.everything, key)
	}
}

// commit publishes what changed since the last commit as one step. The revision is hint
// when that keeps revisions strictly increasing, else the last revision plus one. Callers
// hold the Index's mutex. While the view loads, it only notes the revision.
func (v *View[T]) commit(hint uint64) {
	if v.loading {
		if v.loadPending {
			v.loadPending, v.loadChanged = false, true
			v.loadRev = max(v.loadRev, hint)
		}
		return
	}
	st := v.pending
	if st == nil {
		return
	}
	v.pending = nil
	prev := v.current.Load()
	next := v.work
	next.rev = max(prev.rev+1, hint)
	v.work.rev = next.rev
	st.prev, st.next, st.at = prev, &next, v.now()

	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.history) == v.historySize {
		copy(v.history, v.history[1:])
		v.history[len(v.history)-1] = st
	} else {
		v.history = append(v.history, st)
	}
	// Steps past historyAge go: each holds the objects and map shards it replaced, so a
	// history kept only by count grows for as long as it takes the churn to fill it.
	old := 0
	for old < len(v.history)-1 && st.at.Sub(v.history[old].at) > v.historyAge {
		old++
	}
	v.history = slices.Delete(v.history, 0, old)
	// Hand the step to the watchers it concerns before publishing the snapshot: a watcher
	// that sees revision r published has then been handed every step up to r.
	for w := range v.concerned(st) {
		w.deliver(st)
	}
	v.current.Store(st.next)
	close(v.changed)
	v.changed = make(chan struct{})
}

// concerned returns the watchers a step may change anything for. Callers hold v.mu.
func (v *View[T]) concerned(st *step[T]) map[*watcher[T]]struct{} {
	out := map[*watcher[T]]struct{}{}
	addKey := func(k string) {
		for w := range v.byKey[k] {
			out[w] = struct{}{}
		}
	}
	for k := range st.grants {
		addKey(k)
	}
	for _, k := range st.everything {
		addKey(k)
	}
	if len(st.objects) > 0 {
		for w := range v.allSeeing {
			out[w] = struct{}{}
		}
		for k := range st.prev.everything.all() {
			addKey(k)
		}
		for k := range st.next.everything.all() {
			addKey(k)
		}
		for _, name := range st.objects {
			for k := range v.keysOf[name] {
				addKey(k)
			}
		}
	}
	return out
}

// publishLoaded ends loading: what was loaded is published as one snapshot, and every
// later change copies what it touches. A watch opened while the view loaded is handed one
// step from the empty view to the loaded one. Callers hold the Index's mutex.
func (v *View[T]) publishLoaded() {
	if !v.loading {
		return
	}
	v.loading = false
	if !v.loadChanged {
		return
	}
	prev := v.current.Load()
	next := v.work
	next.rev = max(prev.rev+1, v.loadRev)
	v.work.rev = next.rev

	v.mu.Lock()
	defer v.mu.Unlock()
	if v.nWatchers.Load() > 0 {
		st := &step[T]{prev: prev, next: &next}
		for name := range next.objects.all() {
			st.objects = append(st.objects, name)
		}
		for w := range v.allSeeing {
			w.deliver(st)
		}
		handed := map[*watcher[T]]struct{}{}
		for _, ws := range v.byKey {
			for w := range ws {
				if _, done := handed[w]; !done {
					handed[w] = struct{}{}
					w.deliver(st)
				}
			}
		}
	}
	v.current.Store(&next)
	close(v.changed)
	v.changed = make(chan struct{})
}

func (v *View[T]) forgetHistory() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.history = nil
}

func (v *View[T]) register(w *watcher[T]) {
	if w.allSeeing {
		v.allSeeing[w] = struct{}{}
	} else {
		v.registerKeys(w)
	}
	v.nWatchers.Add(1)
}

func (v *View[T]) registerKeys(w *watcher[T]) {
	for _, k := range w.keys {
		set := v.byKey[k]
		if set == nil {
			set = map[*watcher[T]]struct{}{}
			v.byKey[k] = set
		}
		set[w] = struct{}{}
	}
}

func (v *View[T]) unregister(w *watcher[T]) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if w.allSeeing {
		delete(v.allSeeing, w)
	} else {
		for _, k := range w.keys {
			delete(v.byKey[k], w)
			if len(v.byKey[k]) == 0 {
				delete(v.byKey, k)
			}
		}
	}
	v.nWatchers.Add(-1)
}

// recheckEverything asks every watcher that sees every object by other means to ask
// again. It never blocks: a watcher already asked once more asks once.
func (v *View[T]) recheckEverything() {
	v.mu.Lock()
	defer v.mu.Unlock()
	for w := range v.allSeeing {
		select {
		case w.recheck <- struct{}{}:
		default:
		}
	}
}

func revisionError(err error, requested, have uint64) error {
	return fmt.Errorf("%w: requested %d, have %d", err, requested, have)
}
