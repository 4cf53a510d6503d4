package hub

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/apiserver/pkg/authentication/user"
)

// fakeMember is a member whose watches a test drives; it records who opened them.
type fakeMember struct {
	mu        sync.Mutex
	objects   []runtime.Object
	rv        string
	failWatch error
	watches   []*watch.FakeWatcher
	opened    []string // Key of the identity of each watch, and "rv=" it started from
}

func (f *fakeMember) source(_ string, u user.Info) Source {
	return Source{
		List: func(context.Context) ([]runtime.Object, string, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.objects, f.rv, nil
		},
		Watch: func(_ context.Context, rv string, _ bool) (watch.Interface, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.failWatch != nil {
				return nil, f.failWatch
			}
			w := watch.NewFakeWithChanSize(16, false)
			f.watches = append(f.watches, w)
			f.opened = append(f.opened, u.GetName()+" rv="+rv)
			return w, nil
		},
	}
}

func (f *fakeMember) last() *watch.FakeWatcher {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.watches[len(f.watches)-1]
}

func space(name, rv string, uid types.UID) runtime.Object {
	return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: rv, UID: uid}}
}

func names(objs []runtime.Object) []string {
	out := []string{}
	for _, o := range objs {
		out = append(out, o.(*metav1.PartialObjectMetadata).Name)
	}
	sort.Strings(out)
	return out
}

// clock is a time a test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

// newCache runs a cache over member until the test ends, on clock when given.
func newCache(t *testing.T, opts CacheOptions, member *fakeMember, clk ...*clock) *ViewCache {
	t.Helper()
	c := NewViewCache(opts, member.source)
	if len(clk) > 0 {
		c.now = clk[0].Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	if opts.MaxCallers == 0 {
		return c
	}
	// Run has set the cache's context once a Start keeps a view.
	waitFor(t, "the cache runs", func() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.base != nil })
	return c
}

// waitFor waits up to 5 s for cond, woken by every change of the cache's views.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// synced waits until u's view of cluster follows an open watch.
func synced(t *testing.T, c *ViewCache, u user.Info, cluster string) {
	t.Helper()
	waitFor(t, "the view of "+u.GetName()+" is in sync", func() bool {
		v := c.lookup(u, cluster)
		return v != nil && v.inSync(c.now(), 0)
	})
}

func list(t *testing.T, c *ViewCache, u user.Info) ([]string, string, bool) {
	t.Helper()
	objs, rv, ok := c.List(context.Background(), u, "member", "v1", nil)
	return names(objs), rv, ok
}

var alice = &user.DefaultInfo{Name: "alice", UID: "a-1", Groups: []string{"team-a", "system:authenticated"},
	Extra: map[string][]string{"scopes": {"read"}}}

var opts = CacheOptions{IdleTimeout: time.Minute, MaxCallers: 10, WriteWait: time.Second}

func TestViewCacheStartsFromTheSeedAndFollowsTheWatch(t *testing.T) {
	member := &fakeMember{}
	c := newCache(t, opts, member)
	if _, _, ok := list(t, c, alice); ok {
		t.Fatal("a caller without a view was answered from the cache")
	}
	c.Start(alice, "member", "v1", &Seed{Objects: []runtime.Object{space("a", "5", "")}, RV: "7"})
	synced(t, c, alice, "member")
	if got, rv, ok := list(t, c, alice); !ok || rv != "7" || len(got) != 1 || got[0] != "a" {
		t.Fatalf("list = %v at %q (hit %v), want [a] at 7", got, rv, ok)
	}
	if member.opened[0] != "alice rv=7" {
		t.Fatalf("watch opened as %q, want alice from the seed's resourceVersion 7", member.opened[0])
	}
	w := member.last()
	w.Add(space("b", "8", ""))
	w.Delete(space("a", "9", ""))
	waitFor(t, "the view follows its watch", func() bool {
		got, rv, ok := list(t, c, alice)
		return ok && rv == "9" && len(got) == 1 && got[0] == "b"
	})
	w.Action(watch.Bookmark, space("", "12", ""))
	waitFor(t, "a bookmark moves the view's resourceVersion", func() bool {
		_, rv, _ := list(t, c, alice)
		return rv == "12"
	})
	objs, _, _ := c.List(context.Background(), alice, "member", "v1", func(runtime.Object) bool { return false })
	if len(objs) != 0 {
		t.Fatalf("a list whose selector keeps nothing got %v", names(objs))
	}
}

// A view is one identity's: the same user name with another group, another extra, another
// UID or the groups in another order never reads it.
func TestViewCacheNeverServesAViewToAnotherIdentity(t *testing.T) {
	member := &fakeMember{}
	c := newCache(t, opts, member)
	c.Start(alice, "member", "v1", &Seed{Objects: []runtime.Object{space("secret", "5", "")}, RV: "5"})
	synced(t, c, alice, "member")
	others := []*user.DefaultInfo{
		{Name: "alice", UID: "a-1", Groups: []string{"system:authenticated"}, Extra: alice.Extra},
		{Name: "alice", UID: "a-1", Groups: []string{"team-b", "system:authenticated"}, Extra: alice.Extra},
		{Name: "alice", UID: "a-1", Groups: alice.Groups, Extra: map[string][]string{"scopes": {"write"}}},
		{Name: "alice", UID: "a-1", Groups: alice.Groups, Extra: map[string][]string{"scopes": {"read"}, "more": {"x"}}},
		{Name: "alice", UID: "a-1", Groups: alice.Groups},
		{Name: "alice", UID: "a-2", Groups: alice.Groups, Extra: alice.Extra},
		{Name: "alice", UID: "a-1", Groups: []string{"system:authenticated", "team-a"}, Extra: alice.Extra},
		{Name: "alice2", UID: "a-1", Groups: alice.Groups, Extra: alice.Extra},
	}
	for _, o := range others {
		if got, _, ok := list(t, c, o); ok {
			t.Errorf("%+v was answered %v from the view of %+v", o, got, alice)
		}
		if Key(o) == Key(alice) {
			t.Errorf("%+v has the key of %+v", o, alice)
		}
	}
	same := &user.DefaultInfo{Name: "alice", UID: "a-1", Groups: []string{"team-a", "system:authenticated"},
		Extra: map[string][]string{"scopes": {"read"}}}
	if _, _, ok := list(t, c, same); !ok {
		t.Error("the same identity is not answered from its view")
	}
}

func TestViewCacheDropsAViewWhoseWatchFails(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(m *fakeMember, w *watch.FakeWatcher)
	}{
		{"410 Gone", func(_ *fakeMember, w *watch.FakeWatcher) {
			w.Error(&apierrors.NewResourceExpired("too old").ErrStatus)
		}},
		{"forbidden", func(_ *fakeMember, w *watch.FakeWatcher) {
			w.Error(&apierrors.NewForbidden(schema.GroupResource{Resource: "spaces"}, "", errors.New("no")).ErrStatus)
		}},
		{"connection lost and not back", func(m *fakeMember, w *watch.FakeWatcher) {
			m.mu.Lock()
			m.failWatch = errors.New("connection refused")
			m.mu.Unlock()
			w.Stop()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			member := &fakeMember{}
			c := newCache(t, opts, member)
			c.Start(alice, "member", "v1", &Seed{RV: "5"})
			synced(t, c, alice, "member")
			tc.fail(member, member.last())
			waitFor(t, "the view is dropped", func() bool { return c.lookup(alice, "member") == nil })
			if _, _, ok := list(t, c, alice); ok {
				t.Fatal("a list was answered from a failed view")
			}
		})
	}
}

func TestViewCacheWatchesAgainFromWhereItStood(t *testing.T) {
	member := &fakeMember{}
	c := newCache(t, opts, member)
	c.Start(alice, "member", "v1", &Seed{RV: "5"})
	synced(t, c, alice, "member")
	member.last().Add(space("a", "6", ""))
	waitFor(t, "the event is in the view", func() bool { got, _, _ := list(t, c, alice); return len(got) == 1 })
	member.last().Stop()
	waitFor(t, "a second watch", func() bool { member.mu.Lock(); defer member.mu.Unlock(); return len(member.opened) == 2 })
	if member.opened[1] != "alice rv=6" {
		t.Fatalf("watched again as %q, want alice from 6", member.opened[1])
	}
	synced(t, c, alice, "member")
	if got, rv, ok := list(t, c, alice); !ok || rv != "6" || len(got) != 1 {
		t.Fatalf("list after the second watch = %v at %q (hit %v)", got, rv, ok)
	}
}

func TestViewCacheListsItselfWithoutASeed(t *testing.T) {
	member := &fakeMember{objects: []runtime.Object{space("a", "3", "")}, rv: "4"}
	c := newCache(t, opts, member)
	c.Start(alice, "member", "v1", nil)
	synced(t, c, alice, "member")
	if got, rv, ok := list(t, c, alice); !ok || rv != "4" || len(got) != 1 {
		t.Fatalf("list = %v at %q (hit %v), want [a] at 4", got, rv, ok)
	}
}

// A write of the caller through the hub is in their next list: it waits for the view to see
// it, or asks the member.
func TestViewCacheReadsYourWrites(t *testing.T) {
	member := &fakeMember{}
	c := newCache(t, opts, member)
	c.Start(alice, "member", "v1", &Seed{Objects: []runtime.Object{space("old", "4", "u-old")}, RV: "5"})
	synced(t, c, alice, "member")

	c.Expect(alice, "member", "new", HasUID("u-new"))
	listed := make(chan []string)
	go func() { got, _, _ := list(t, c, alice); listed <- got }()
	member.last().Add(space("new", "6", "u-new"))
	if got := <-listed; len(got) != 2 {
		t.Fatalf("the list after a create = %v, want the created Space in it", got)
	}

	c.Expect(alice, "member", "old", GoneOrDeleting("u-old"))
	go func() { got, _, _ := list(t, c, alice); listed <- got }()
	member.last().Delete(space("old", "7", "u-old"))
	if got := <-listed; len(got) != 1 || got[0] != "new" {
		t.Fatalf("the list after a delete = %v, want [new]", got)
	}

	// Already seen when expected: nothing to wait for.
	c.Expect(alice, "member", "new", HasUID("u-new"))
	if _, _, ok := list(t, c, alice); !ok {
		t.Fatal("a write the view holds already made the list miss")
	}

	// Never seen: the list asks the member, and the view goes.
	short := newCache(t, CacheOptions{IdleTimeout: time.Minute, MaxCallers: 10, WriteWait: 10 * time.Millisecond}, member)
	short.Start(alice, "member", "v1", &Seed{RV: "5"})
	synced(t, short, alice, "member")
	short.Expect(alice, "member", "never", HasUID("u-never"))
	if _, _, ok := list(t, short, alice); ok {
		t.Fatal("a view that did not show the caller's write answered")
	}
	if short.lookup(alice, "member") != nil {
		t.Fatal("the view that missed the caller's write is still kept")
	}
}

func TestViewCacheBounds(t *testing.T) {
	member := &fakeMember{}
	now := &clock{now: time.Now()}
	c := newCache(t, CacheOptions{IdleTimeout: time.Minute, MaxCallers: 2, WriteWait: time.Second}, member, now)
	users := []user.Info{&user.DefaultInfo{Name: "u0"}, &user.DefaultInfo{Name: "u1"}, &user.DefaultInfo{Name: "u2"}}
	for _, u := range users[:2] {
		now.Add(time.Second)
		c.Start(u, "member", "v1", &Seed{RV: "1"})
		synced(t, c, u, "member")
	}
	now.Add(time.Second)
	list(t, c, users[0]) // u0 used last: u1 is the least recently used
	c.Start(users[2], "member", "v1", &Seed{RV: "1"})
	synced(t, c, users[2], "member")
	if c.lookup(users[1], "member") != nil || c.lookup(users[0], "member") == nil {
		t.Fatal("a third caller did not push out the least recently used of two")
	}

	// Another version of the Cluster (its spec changed) is not served from the old view.
	if _, _, ok := c.List(context.Background(), users[0], "member", "v2", nil); ok {
		t.Fatal("a view of another version of the Cluster answered")
	}

	// Idle callers go.
	now.Add(2 * time.Minute)
	c.evictIdle()
	c.mu.Lock()
	left := len(c.callers)
	c.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d callers kept after the idle timeout", left)
	}

	// A member that goes quiet (no bookmark) is out of sync.
	qnow := &clock{now: time.Now()}
	q := newCache(t, CacheOptions{IdleTimeout: time.Hour, MaxCallers: 2, WriteWait: time.Second, Quiet: time.Minute}, member, qnow)
	q.Start(alice, "member", "v1", &Seed{RV: "1"})
	synced(t, q, alice, "member")
	if _, _, ok := list(t, q, alice); !ok {
		t.Fatal("a view that heard from its member just now did not answer")
	}
	qnow.Add(2 * time.Minute)
	if _, _, ok := list(t, q, alice); ok {
		t.Fatal("a view that heard nothing from its member for longer than Quiet answered")
	}

	// MaxCallers 0 keeps nothing.
	none := newCache(t, CacheOptions{IdleTimeout: time.Minute}, member)
	none.Start(alice, "member", "v1", &Seed{RV: "1"})
	if none.lookup(alice, "member") != nil {
		t.Fatal("a cache of 0 callers kept a view")
	}
}
