package access

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

func bookmarkObject(rev uint64, end bool) runtime.Object {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{ResourceVersion: fmt.Sprint(rev)}}
	if end {
		ns.Annotations = map[string]string{metav1.InitialEventsAnnotationKey: "true"}
	}
	return ns
}

type got struct {
	Type watch.EventType
	Name string
	Rev  uint64
}

func next(t *testing.T, w watch.Interface) got {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		require.True(t, ok, "watch closed")
		m, err := metaOf(ev.Object)
		require.NoError(t, err)
		return got{ev.Type, m.GetName(), parseRevision(m.GetResourceVersion())}
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	return got{}
}

func metaOf(obj runtime.Object) (metav1.Object, error) {
	m, ok := obj.(metav1.Object)
	if !ok {
		return nil, fmt.Errorf("%T has no metadata", obj)
	}
	return m, nil
}

func none(t *testing.T, w watch.Interface) {
	t.Helper()
	select {
	case ev := <-w.ResultChan():
		t.Fatalf("unexpected event %v", ev)
	case <-time.After(50 * time.Millisecond):
	}
}

func spacesWatch(t *testing.T, x *Index, opts WatchOptions[*corev1.Namespace], cfg WatchConfig) watch.Interface {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	opts.Convert, opts.Bookmark = convertNamespace, bookmarkObject
	w, err := x.Spaces().Watch(ctx, opts, cfg)
	require.NoError(t, err)
	t.Cleanup(w.Stop)
	return w
}

func seeded() *Index {
	x := New(Options{HistorySize: 8})
	x.UpsertClusterRole(clusterRole("viewer", "1", getRule("namespaces")))
	x.UpsertSpace(namespace("a", "2"))
	x.UpsertSpace(namespace("b", "3"))
	return x
}

func TestWatchGrantAndRevoke(t *testing.T) {
	x := seeded()
	alice := Subject{User: "alice"}
	w := spacesWatch(t, x, WatchOptions[*corev1.Namespace]{Subject: alice}, DefaultWatchConfig)
	other := spacesWatch(t, x, WatchOptions[*corev1.Namespace]{Subject: Subject{User: "bob"}}, DefaultWatchConfig)

	x.UpsertRoleBinding(roleBinding("a", "alice", "10", "ClusterRole", "viewer", user("alice")))
	assert.Equal(t, got{watch.Added, "a", 10}, next(t, w), "a grant adds")
	x.UpsertSpace(namespace("a", "11"))
	assert.Equal(t, got{watch.Modified, "a", 11}, next(t, w), "a change of a visible Space modifies")
	x.UpsertSpace(namespace("b", "12"))
	x.DeleteRoleBinding("a", "alice", "13")
	assert.Equal(t, got{watch.Deleted, "a", 13}, next(t, w), "a revoked binding deletes, and b's change is not sent")
	x.UpsertClusterRoleBinding(clusterRoleBinding("alice-all", "14", "viewer", group("admins"), user("alice")))
	assert.Equal(t, got{watch.Added, "a", 14}, next(t, w))
	assert.Equal(t, got{watch.Added, "b", 14}, next(t, w))
	x.UpsertSpace(namespace("c", "15"))
	assert.Equal(t, got{watch.Added, "c", 15}, next(t, w), "a new Space is added for who sees everything")
	x.DeleteClusterRole("viewer", "16")
	for _, name := range []string{"a", "b", "c"} {
		assert.Equal(t, got{watch.Deleted, name, 16}, next(t, w), "a deleted ClusterRole revokes")
	}
	none(t, w)
	none(t, other)
}

func TestWatchFilter(t *testing.T) {
	x := seeded()
	x.UpsertClusterRoleBinding(clusterRoleBinding("all", "4", "viewer", user("alice")))
	w := spacesWatch(t, x, WatchOptions[*corev1.Namespace]{Subject: Subject{User: "alice"},
		Filter: func(ns *corev1.Namespace) bool { return ns.Labels["team"] == "red" }}, DefaultWatchConfig)
	red := namespace("a", "5")
	red.Labels["team"] = "red"
	x.UpsertSpace(red)
	assert.Equal(t, got{watch.Added, "a", 5}, next(t, w), "an object that starts matching is added")
	x.UpsertSpace(namespace("a", "6"))
	assert.Equal(t, got{watch.Deleted, "a", 6}, next(t, w), "an object that stops matching is deleted")
	x.UpsertSpace(namespace("b", "7"))
	none(t, w)
}

func TestWatchFromRevision(t *testing.T) {
	x := seeded()
	alice := Subject{User: "alice"}
	x.UpsertRoleBinding(roleBinding("a", "alice", "10", "ClusterRole", "viewer", user("alice")))
	listed := x.Spaces().Snapshot().Revision()
	x.UpsertRoleBinding(roleBinding("b", "alice", "11", "ClusterRole", "viewer", user("alice")))
	x.DeleteRoleBinding("a", "alice", "12")

	w := spacesWatch(t, x, WatchOptions[*corev1.Namespace]{Subject: alice, Revision: listed}, DefaultWatchConfig)
	assert.Equal(t, got{watch.Added, "b", 11}, next(t, w), "replayed from history")
	assert.Equal(t, got{watch.Deleted, "a", 12}, next(t, w))
	x.DeleteRoleBinding("b", "alice", "13")
	assert.Equal(t, got{watch.Deleted, "b", 13}, next(t, w), "then live")

	initial := spacesWatch(t, x, WatchOptions[*corev1.Namespace]{Subject: Subject{User: "bob"}, SendInitial: true, InitialEventsEnd: true}, DefaultWatchConfig)
	ev := <-initial.ResultChan()
	assert.Equal(t, watch.Bookmark, ev.Type, "nothing visible: only the end of the initial events")
	m, _ := metaOf(ev.Object)
	assert.Equal(t, "true", m.GetAnnotations()[metav1.InitialEventsAnnotationKey])
	assert.Equal(t, "13", m.GetResourceVersion())

	for i := range 10 {
		x.UpsertSpace(namespace("a", fmt.Sprint(20+i)))
	}
	_, err := x.Spaces().Watch(context.Background(), WatchOptions[*corev1.Namespace]{Subject: alice, Revision: listed}, DefaultWatchConfig)
	assert.ErrorIs(t, err, ErrRevisionGone, "older than the history")
	assert.Nil(t, x.Spaces().SnapshotAt(listed))
	assert.Equal(t, uint64(25), x.Spaces().SnapshotAt(25).Revision())

	cfg := DefaultWatchConfig
	cfg.TooLargeWait = 10 * time.Millisecond
	_, err = x.Spaces().Watch(context.Background(), WatchOptions[*corev1.Namespace]{Subject: alice, Revision: 1000}, cfg)
	assert.ErrorIs(t, err, ErrRevisionTooLarge)

	cfg.TooLargeWait = 5 * time.Second
	done := make(chan error)
	go func() {
		_, err := x.Spaces().Watch(context.Background(), WatchOptions[*corev1.Namespace]{Subject: alice, Revision: 40, Convert: convertNamespace}, cfg)
		done <- err
	}()
	x.UpsertSpace(namespace("b", "40"))
	assert.NoError(t, <-done, "a revision reached while waiting")
}

func TestWatchInitialEventsAndBookmarks(t *testing.T) {
	x := seeded()
	x.UpsertRoleBinding(roleBinding("b", "alice", "10", "ClusterRole", "viewer", user("alice")))
	cfg := DefaultWatchConfig
	cfg.BookmarkInterval = 20 * time.Millisecond
	w := spacesWatch(t, x, WatchOptions[*corev1.Namespace]{Subject: Subject{User: "alice"}, SendInitial: true, InitialEventsEnd: true, Bookmarks: true}, cfg)
	assert.Equal(t, got{watch.Added, "b", 10}, next(t, w))
	assert.Equal(t, got{watch.Bookmark, "", 10}, next(t, w))
	x.UpsertSpace(namespace("a", "11"))
	assert.Equal(t, got{watch.Bookmark, "", 11}, next(t, w), "a bookmark moves on past events that do not concern the watcher")
}

func TestSlowWatcherIsClosedAndOthersGoOn(t *testing.T) {
	x := seeded()
	x.UpsertClusterRoleBinding(clusterRoleBinding("all", "4", "viewer", group("everyone")))
	cfg := DefaultWatchConfig
	cfg.Backlog = 4
	everyone := Subject{User: "u", Groups: []string{"everyone"}}
	slow := spacesWatch(t, x, WatchOptions[*corev1.Namespace]{Subject: everyone}, cfg)
	fast := spacesWatch(t, x, WatchOptions[*corev1.Namespace]{Subject: everyone}, cfg)
	// The fast watcher reads each event before the next change; the slow one reads nothing.
	var received []got
	for i := range 50 {
		x.UpsertSpace(namespace("a", fmt.Sprint(10+i)))
		received = append(received, next(t, fast))
	}
	assert.Len(t, received, 50)
	assert.Equal(t, uint64(59), received[49].Rev)
	// The slow watcher may hold a few events, then its channel closes.
	closed := false
	for range 10 {
		if _, ok := <-slow.ResultChan(); !ok {
			closed = true
			break
		}
	}
	assert.True(t, closed, "the slow watcher is closed")
	assert.Equal(t, int64(1), x.Spaces().SlowWatchersClosed())
}

func TestWatchStopIsSafeAndLeaksNothing(t *testing.T) {
	x := seeded()
	x.UpsertClusterRoleBinding(clusterRoleBinding("all", "4", "viewer", user("alice")))
	var wg sync.WaitGroup
	for i := range 20 {
		w, err := x.Spaces().Watch(context.Background(), WatchOptions[*corev1.Namespace]{Subject: Subject{User: "alice"}, Convert: convertNamespace}, DefaultWatchConfig)
		require.NoError(t, err)
		wg.Add(2)
		go func() { defer wg.Done(); x.UpsertSpace(namespace("a", fmt.Sprint(100+i))) }()
		go func() { defer wg.Done(); w.Stop(); w.Stop() }()
		for range w.ResultChan() {
		}
	}
	wg.Wait()
	require.Eventually(t, func() bool { return x.Spaces().Watchers() == 0 }, 5*time.Second, 10*time.Millisecond)
}

func TestReadersNeverSeeAHalfChange(t *testing.T) {
	x := seeded()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	alice := Subject{User: "alice"}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				// A binding update replaces its subjects at once: alice and bob swap, and a
				// reader sees exactly one of them, never both and never neither.
				snap := x.Spaces().Snapshot()
				a, b := snap.Visible(alice, "a"), snap.Visible(Subject{User: "bob"}, "a")
				if a == b && snap.Revision() > 10 {
					t.Errorf("revision %d: alice %v, bob %v", snap.Revision(), a, b)
					return
				}
			}
		}()
	}
	for i := range 2000 {
		who := "alice"
		if i%2 == 1 {
			who = "bob"
		}
		x.UpsertRoleBinding(roleBinding("a", "swap", fmt.Sprint(11+i), "ClusterRole", "viewer", user(who)))
	}
	cancel()
	wg.Wait()
}

func TestNoWatchResumesFromBeforeReady(t *testing.T) {
	x := seeded()
	filling := x.Spaces().Snapshot().Revision()
	x.MarkReady()
	_, err := x.Spaces().Watch(context.Background(), WatchOptions[*corev1.Namespace]{Subject: Subject{User: "a"}, Revision: filling - 1}, DefaultWatchConfig)
	assert.ErrorIs(t, err, ErrRevisionGone)
	w := spacesWatch(t, x, WatchOptions[*corev1.Namespace]{Subject: Subject{User: "a"}, Revision: filling}, DefaultWatchConfig)
	none(t, w)
}

// otherMeans is an authorizer outside the index that lets a caller see everything until
// it is revoked, as kube-apiserver answers a SubjectAccessReview.
type otherMeans struct {
	mu      sync.Mutex
	allowed bool
	err     error
	asked   int
}

func (o *otherMeans) decide(context.Context) (bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.asked++
	return o.allowed, o.err
}

func (o *otherMeans) set(allowed bool, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.allowed, o.err = allowed, err
}

// A watcher who sees everything by other means is asked again when cluster-wide RBAC
// changes. Once the answer is no, it gets DELETED for each Space it no longer sees, keeps
// those its own grants cover, and follows those grants from then on.
func TestWatchLosesEverythingWhenClusterRBACChanges(t *testing.T) {
	x := seeded()
	x.UpsertRoleBinding(roleBinding("a", "alice", "4", "ClusterRole", "viewer", user("alice")))
	means := &otherMeans{allowed: true}
	w := spacesWatch(t, x, WatchOptions[*corev1.Namespace]{Subject: Subject{User: "alice"},
		Everything: true, Recheck: means.decide, SendInitial: true}, DefaultWatchConfig)
	assert.Equal(t, got{watch.Added, "a", 4}, next(t, w))
	assert.Equal(t, got{watch.Added, "b", 4}, next(t, w))

	x.UpsertClusterRoleBinding(clusterRoleBinding("unrelated", "5", "viewer", user("bob")))
	none(t, w)
	x.UpsertSpace(namespace("c", "6"))
	assert.Equal(t, got{watch.Added, "c", 6}, next(t, w), "still sees everything")

	means.set(false, nil)
	x.DeleteClusterRoleBinding("unrelated", "7")
	assert.Equal(t, got{watch.Deleted, "b", 7}, next(t, w))
	assert.Equal(t, got{watch.Deleted, "c", 7}, next(t, w))
	none(t, w)

	x.UpsertSpace(namespace("d", "8"))
	x.UpsertSpace(namespace("a", "9"))
	assert.Equal(t, got{watch.Modified, "a", 9}, next(t, w), "a Space the own grants cover is still followed")
	x.DeleteRoleBinding("a", "alice", "10")
	assert.Equal(t, got{watch.Deleted, "a", 10}, next(t, w), "and revoked as any other")
	x.UpsertRoleBinding(roleBinding("d", "alice", "11", "ClusterRole", "viewer", user("alice")))
	assert.Equal(t, got{watch.Added, "d", 11}, next(t, w), "and granted as any other")
	none(t, w)
}

// A watcher whose cluster-wide decision cannot be taken again is ended, never left seeing
// everything; a watcher that never saw everything is never asked.
func TestWatchEndsWhenRecheckFails(t *testing.T) {
	x := seeded()
	means := &otherMeans{allowed: true}
	w := spacesWatch(t, x, WatchOptions[*corev1.Namespace]{Subject: Subject{User: "alice"},
		Everything: true, Recheck: means.decide}, DefaultWatchConfig)
	own := &otherMeans{}
	spacesWatch(t, x, WatchOptions[*corev1.Namespace]{Subject: Subject{User: "bob"}, Recheck: own.decide}, DefaultWatchConfig)
	means.set(true, fmt.Errorf("kube-apiserver is unreachable"))
	x.UpsertClusterRole(clusterRole("other", "5", getRule("namespaces", "a")))
	select {
	case _, ok := <-w.ResultChan():
		assert.False(t, ok, "the watch ends")
	case <-time.After(5 * time.Second):
		t.Fatal("the watch goes on")
	}
	own.mu.Lock()
	defer own.mu.Unlock()
	assert.Zero(t, own.asked)
}

// An authorizer that sees a cluster-wide revocation after the index does still says yes
// when first asked; the watch asks once more RecheckAfter later, and then reports DELETED.
func TestWatchAsksAgainAfterClusterRBACChanges(t *testing.T) {
	x := New(Options{HistorySize: 8, RecheckAfter: []time.Duration{300 * time.Millisecond, time.Hour}})
	x.UpsertSpace(namespace("a", "2"))
	means := &otherMeans{allowed: true}
	w := spacesWatch(t, x, WatchOptions[*corev1.Namespace]{Subject: Subject{User: "alice"},
		Everything: true, Recheck: means.decide, SendInitial: true}, DefaultWatchConfig)
	assert.Equal(t, got{watch.Added, "a", 2}, next(t, w))
	x.UpsertClusterRole(clusterRole("other", "3", getRule("namespaces", "b")))
	none(t, w)
	means.set(false, nil) // the authorizer has now seen the change
	// The ClusterRole grants nothing bound, so the view publishes no new revision: the
	// event carries the current one.
	assert.Equal(t, got{watch.Deleted, "a", 2}, next(t, w))
	means.mu.Lock()
	defer means.mu.Unlock()
	assert.GreaterOrEqual(t, means.asked, 3, "at the start, at the change, and once more after it")
}

// A view keeps a change for HistoryAge at most, whatever its HistorySize: a watch resumes from
// a revision within the age, and one from an older revision is told it is gone.
func TestHistoryKeepsChangesForHistoryAge(t *testing.T) {
	now := time.Unix(1000, 0)
	x := New(Options{HistorySize: 100, HistoryAge: time.Minute, Now: func() time.Time { return now }})
	x.UpsertClusterRole(clusterRole("viewer", "1", getRule("namespaces")))
	alice := Subject{User: "alice"}
	x.UpsertRoleBinding(roleBinding("a", "alice", "2", "ClusterRole", "viewer", user("alice")))
	old := x.Spaces().Snapshot().Revision()
	x.UpsertSpace(namespace("a", "3"))

	now = now.Add(50 * time.Second)
	x.UpsertSpace(namespace("a", "4"))
	recent := x.Spaces().Snapshot().Revision()
	x.UpsertSpace(namespace("a", "5"))
	require.NotNil(t, x.Spaces().SnapshotAt(old), "a revision 50 s old is still kept")

	now = now.Add(20 * time.Second)
	x.UpsertSpace(namespace("a", "6"))
	assert.Nil(t, x.Spaces().SnapshotAt(old), "70 s old: gone")
	_, err := x.Spaces().Watch(context.Background(), WatchOptions[*corev1.Namespace]{Subject: alice, Revision: old}, DefaultWatchConfig)
	assert.ErrorIs(t, err, ErrRevisionGone)

	w := spacesWatch(t, x, WatchOptions[*corev1.Namespace]{Subject: alice, Revision: recent}, DefaultWatchConfig)
	assert.Equal(t, got{watch.Modified, "a", 5}, next(t, w), "replayed from a revision 20 s old")
	assert.Equal(t, got{watch.Modified, "a", 6}, next(t, w))

	now = now.Add(time.Hour)
	x.UpsertSpace(namespace("a", "7"))
	last := x.Spaces().Snapshot().Revision()
	assert.Nil(t, x.Spaces().SnapshotAt(recent), "an hour later only the newest change is kept")
	assert.NotNil(t, x.Spaces().SnapshotAt(last-1), "the newest change replays")
}
