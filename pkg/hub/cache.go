package hub

import (
	"context"
	"encoding/json"
	"sort"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/klog/v2"
)

// CacheOptions bound the hub's cache of member views.
type CacheOptions struct {
	// IdleTimeout evicts a caller's views once the caller has listed nothing for this long.
	IdleTimeout time.Duration
	// MaxCallers caps the callers whose views are kept; the least recently used caller makes
	// room for a new one. 0 keeps none: every list asks the members.
	MaxCallers int
	// WriteWait bounds how long a list waits for a view to show the caller's own write made
	// through the hub; past it the view is dropped and the member is asked.
	WriteWait time.Duration
	// Quiet is how long a view may hear nothing from its member (no event, no bookmark)
	// before it counts as out of sync. Members send a bookmark every minute, so Quiet is
	// longer than that by a margin for a loaded member's late one.
	Quiet time.Duration
}

// DefaultCacheOptions are the cache's bounds when no flag changes them.
var DefaultCacheOptions = CacheOptions{IdleTimeout: 5 * time.Minute, MaxCallers: 1000, WriteWait: 2 * time.Second, Quiet: 90 * time.Second}

// ViewCache keeps, per caller and member cluster, the objects the member shows the caller,
// from a watch of the member opened while impersonating the caller. The member decides what
// is in a view, as it does for a list; the hub never does. A view serves lists only while its
// watch is open and in sync; anything else (a watch that ends and cannot be opened again, an
// error event, 410, a member that goes quiet) drops it, and the next list asks the member.
type ViewCache struct {
	opts   CacheOptions
	source func(cluster string, u user.Info) Source
	now    func() time.Time

	mu      sync.Mutex
	base    context.Context
	callers map[string]*callerViews
}

type callerViews struct {
	lastUsed time.Time
	views    map[string]*view
}

// view is one caller's objects of one member, and where the member's watch stands.
type view struct {
	cluster string
	version string
	cancel  context.CancelFunc

	mu      sync.Mutex
	items   map[string]runtime.Object
	rv      string
	synced  bool
	heard   time.Time
	expects []expectation
	changed chan struct{}
}

// expectation is a write of the caller through the hub that the view must show before it
// may serve the caller again.
type expectation struct {
	name string
	done func(obj runtime.Object) bool
}

// NewViewCache returns a cache whose views of cluster for u are filled by source's List and
// Watch. It keeps nothing until Run.
func NewViewCache(opts CacheOptions, source func(cluster string, u user.Info) Source) *ViewCache {
	return &ViewCache{opts: opts, source: source, now: time.Now, callers: map[string]*callerViews{}}
}

// Key is what tells callers apart: everything the hub impersonates, exactly as it does.
// Two identities that differ in any group or extra never share a view.
func Key(u user.Info) string {
	extra := u.GetExtra()
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := make([][]any, 0, len(keys))
	for _, k := range keys {
		pairs = append(pairs, []any{k, extra[k]})
	}
	data, _ := json.Marshal([]any{u.GetName(), u.GetUID(), u.GetGroups(), pairs}) // strings only: always marshals
	return string(data)
}

// Run keeps the cache until ctx ends: it evicts idle callers and, at the end, stops every
// watch.
func (c *ViewCache) Run(ctx context.Context) {
	if c == nil || c.opts.MaxCallers <= 0 {
		return
	}
	c.mu.Lock()
	c.base = ctx
	c.mu.Unlock()
	every := c.opts.IdleTimeout / 4
	if every < 100*time.Millisecond {
		every = 100 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			c.mu.Lock()
			for key := range c.callers {
				c.evictLocked(key)
			}
			c.base = nil
			c.mu.Unlock()
			return
		case <-t.C:
			c.evictIdle()
		}
	}
}

func (c *ViewCache) evictIdle() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for key, cv := range c.callers {
		if now.Sub(cv.lastUsed) > c.opts.IdleTimeout {
			c.evictLocked(key)
		}
	}
}

func (c *ViewCache) evictLocked(key string) {
	cv, ok := c.callers[key]
	if !ok {
		return
	}
	for _, v := range cv.views {
		v.cancel()
	}
	delete(c.callers, key)
	cachedCallers.Set(float64(len(c.callers)))
}

// lookup returns the view of cluster for u, and marks u as using the cache now.
func (c *ViewCache) lookup(u user.Info, cluster string) *view {
	c.mu.Lock()
	defer c.mu.Unlock()
	cv, ok := c.callers[Key(u)]
	if !ok {
		return nil
	}
	cv.lastUsed = c.now()
	return cv.views[cluster]
}

// remove takes v out of the cache, if it is still there.
func (c *ViewCache) remove(u user.Info, v *view) {
	v.cancel()
	c.mu.Lock()
	defer c.mu.Unlock()
	key := Key(u)
	cv, ok := c.callers[key]
	if !ok || cv.views[v.cluster] != v {
		return
	}
	delete(cv.views, v.cluster)
	if len(cv.views) == 0 {
		delete(c.callers, key)
		cachedCallers.Set(float64(len(c.callers)))
	}
}

// List returns the objects of cluster that u's view holds and keep selects, as copies, and
// the member's resourceVersion of that state. ok is false when there is no view in sync with
// the member at version (the Cluster's UID and generation), or it has not shown u's last
// write within WriteWait: the caller then asks the member, and Start makes a view from the
// answer.
func (c *ViewCache) List(ctx context.Context, u user.Info, cluster, version string, keep func(runtime.Object) bool) (objs []runtime.Object, rv string, ok bool) {
	if c == nil || c.opts.MaxCallers <= 0 {
		return nil, "", false
	}
	v := c.lookup(u, cluster)
	if v == nil {
		misses.WithLabelValues(cluster).Inc()
		return nil, "", false
	}
	if v.version != version || !v.waitExpected(ctx, c.opts.WriteWait) || !v.inSync(c.now(), c.opts.Quiet) {
		c.remove(u, v)
		misses.WithLabelValues(cluster).Inc()
		return nil, "", false
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.synced {
		misses.WithLabelValues(cluster).Inc()
		return nil, "", false
	}
	for _, o := range v.items {
		if keep == nil || keep(o) {
			objs = append(objs, o.DeepCopyObject())
		}
	}
	hits.WithLabelValues(cluster).Inc()
	return objs, v.rv, true
}

func (v *view) inSync(now time.Time, quiet time.Duration) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.synced && (quiet <= 0 || now.Sub(v.heard) <= quiet)
}

// waitExpected waits up to d for the view to show every write expected of it.
func (v *view) waitExpected(ctx context.Context, d time.Duration) bool {
	var timeout <-chan time.Time
	for {
		v.mu.Lock()
		pending, changed := len(v.expects), v.changed
		v.mu.Unlock()
		if pending == 0 {
			return true
		}
		if timeout == nil {
			t := time.NewTimer(d)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-changed:
		case <-timeout:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// Seed is a member's whole answer to a list, from which a view starts without listing again.
type Seed struct {
	Objects []runtime.Object
	RV      string
}

// Start makes u's view of cluster at version, unless there is one: from seed when given,
// else from a list of its own, and then a watch from there. It is called after a list that
// the member answered, so that a member that refuses or does not answer gets no watch.
func (c *ViewCache) Start(u user.Info, cluster, version string, seed *Seed) {
	if c == nil || c.opts.MaxCallers <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.base == nil || c.base.Err() != nil {
		return
	}
	key := Key(u)
	cv, ok := c.callers[key]
	if !ok {
		for len(c.callers) >= c.opts.MaxCallers {
			c.evictLocked(c.leastRecentlyUsedLocked())
		}
		cv = &callerViews{views: map[string]*view{}}
		c.callers[key] = cv
		cachedCallers.Set(float64(len(c.callers)))
	}
	cv.lastUsed = c.now()
	if _, ok := cv.views[cluster]; ok {
		return
	}
	ctx, cancel := context.WithCancel(c.base)
	v := &view{cluster: cluster, version: version, cancel: cancel, items: map[string]runtime.Object{}, changed: make(chan struct{})}
	cv.views[cluster] = v
	go c.run(ctx, u, v, c.source(cluster, u), seed)
}

func (c *ViewCache) leastRecentlyUsedLocked() string {
	var oldest string
	var at time.Time
	for key, cv := range c.callers {
		if oldest == "" || cv.lastUsed.Before(at) {
			oldest, at = key, cv.lastUsed
		}
	}
	return oldest
}

// run fills v and follows the member's watch until the watch fails or the view is evicted;
// then v leaves the cache.
func (c *ViewCache) run(ctx context.Context, u user.Info, v *view, src Source, seed *Seed) {
	defer c.remove(u, v)
	if seed == nil {
		objs, rv, err := src.List(ctx)
		if err != nil || rv == "" {
			klog.V(4).InfoS("Member view not started", "cluster", v.cluster, "user", u.GetName(), "err", err)
			return
		}
		seed = &Seed{Objects: objs, RV: rv}
	}
	v.reset(seed, c.now())
	for {
		v.mu.Lock()
		rv := v.rv
		v.mu.Unlock()
		w, err := src.Watch(ctx, rv, false)
		if err != nil {
			if ctx.Err() == nil {
				klog.V(2).InfoS("Member view dropped: its watch could not be opened", "cluster", v.cluster, "user", u.GetName(), "err", err)
			}
			return
		}
		v.setSynced(true, c.now())
		ended := v.follow(ctx, w, c.now)
		v.setSynced(false, c.now())
		if !ended || ctx.Err() != nil {
			return
		}
		// The watch ended as watches do (a timeout, a replica that stops): out of sync until
		// it is open again from where it stood.
	}
}

func (v *view) reset(seed *Seed, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, o := range seed.Objects {
		if a, err := meta.Accessor(o); err == nil {
			v.items[a.GetName()] = o
		}
	}
	v.rv, v.heard = seed.RV, now
}

func (v *view) setSynced(synced bool, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.synced = synced
	if synced {
		v.heard = now
	}
	v.notifyLocked()
}

func (v *view) notifyLocked() {
	close(v.changed)
	v.changed = make(chan struct{})
}

// follow applies w's events to v. It returns true when w ended, false after an error event
// (410, a revoked permission) or when ctx ended.
func (v *view) follow(ctx context.Context, w watch.Interface, now func() time.Time) bool {
	defer w.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case e, ok := <-w.ResultChan():
			if !ok {
				return true
			}
			if e.Type == watch.Error {
				klog.V(2).InfoS("Member view dropped: its watch failed", "cluster", v.cluster, "status", e.Object)
				return false
			}
			a, err := meta.Accessor(e.Object)
			if err != nil {
				return false
			}
			v.apply(e.Type, a.GetName(), a.GetResourceVersion(), e.Object, now())
		}
	}
}

func (v *view) apply(t watch.EventType, name, rv string, obj runtime.Object, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch t {
	case watch.Added, watch.Modified:
		v.items[name] = obj
	case watch.Deleted:
		delete(v.items, name)
	}
	if rv != "" {
		v.rv = rv
	}
	v.heard = now
	if t != watch.Bookmark {
		v.expects = v.metLocked(name)
	}
	v.notifyLocked()
}

// metLocked is v.expects without those on name that the view now shows.
func (v *view) metLocked(name string) []expectation {
	out := v.expects[:0]
	for _, e := range v.expects {
		if e.name == name && e.done(v.items[name]) {
			continue
		}
		out = append(out, e)
	}
	return out
}

// Expect tells u's view of cluster that u wrote the object name through the hub: until the
// view holds an object for name (nil if none) that done accepts, u's lists wait for it, up to
// WriteWait, and past that ask the member. A dry run expects nothing.
func (c *ViewCache) Expect(u user.Info, cluster, name string, done func(obj runtime.Object) bool) {
	if c == nil || c.opts.MaxCallers <= 0 {
		return
	}
	v := c.lookup(u, cluster)
	if v == nil {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	var obj runtime.Object
	if o, ok := v.items[name]; ok {
		obj = o
	}
	if !done(obj) {
		v.expects = append(v.expects, expectation{name: name, done: done})
	}
}

// HasUID returns a test for Expect: the object is there with uid, as after a create.
func HasUID(uid types.UID) func(runtime.Object) bool {
	return func(obj runtime.Object) bool {
		a, err := meta.Accessor(obj)
		return obj != nil && err == nil && a.GetUID() == uid
	}
}

// GoneOrDeleting returns a test for Expect: the object with uid is not there any more or is
// being deleted, as after a delete.
func GoneOrDeleting(uid types.UID) func(runtime.Object) bool {
	return func(obj runtime.Object) bool {
		if obj == nil {
			return true
		}
		a, err := meta.Accessor(obj)
		return err != nil || a.GetUID() != uid || a.GetDeletionTimestamp() != nil
	}
}
