package hub

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
)

// fakeCluster is a cluster whose objects and availability a test changes.
type fakeCluster struct {
	mu      sync.Mutex
	objects map[string]string // name -> resourceVersion
	rv      int
	down    bool
	watches []*watch.FakeWatcher
}

func obj(name, rv string) runtime.Object {
	return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: rv}}
}

var errDown = errors.New("connection refused")

func (f *fakeCluster) source(name string) Source {
	return Source{
		Cluster: name,
		List: func(context.Context) ([]runtime.Object, string, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.down {
				return nil, "", errDown
			}
			var out []runtime.Object
			for n, rv := range f.objects {
				out = append(out, obj(n, rv))
			}
			return out, itoa(f.rv), nil
		},
		Watch: func(_ context.Context, rv string, _ bool) (watch.Interface, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.down {
				return nil, errDown
			}
			if rv == "1" {
				return nil, apierrors.NewResourceExpired("too old resource version: 1")
			}
			w := watch.NewFakeWithChanSize(16, false)
			f.watches = append(f.watches, w)
			return w, nil
		},
	}
}

func itoa(i int) string { return string(rune('0'+i/10)) + string(rune('0'+i%10)) }

// add creates name and sends it to the open watches.
func (f *fakeCluster) add(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rv++
	f.objects[name] = itoa(f.rv)
	for _, w := range f.watches {
		w.Add(obj(name, itoa(f.rv)))
	}
}

// stop takes the cluster down: its watches end and it answers nothing.
func (f *fakeCluster) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = true
	for _, w := range f.watches {
		w.Stop()
	}
	f.watches = nil
}

func (f *fakeCluster) start() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = false
}

func next(t *testing.T, w watch.Interface) (watch.EventType, string, string) {
	t.Helper()
	select {
	case e, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("the merged watch ended")
		}
		if e.Type == watch.Error {
			return e.Type, apierrors.FromObject(e.Object).Error(), ""
		}
		m := e.Object.(*metav1.PartialObjectMetadata)
		return e.Type, m.Labels["cluster"] + "/" + m.Name, m.ResourceVersion
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return "", "", ""
}

func tagCluster(cluster string, o runtime.Object) {
	o.(*metav1.PartialObjectMetadata).Labels = map[string]string{"cluster": cluster}
}

func TestWatchMergesAndFollowsAMemberGoingAndComing(t *testing.T) {
	local := &fakeCluster{objects: map[string]string{}, rv: 10}
	member := &fakeCluster{objects: map[string]string{"m1": "20"}, rv: 20}
	w, err := Watch(context.Background(), []Source{local.source(Local), member.source("member")}, WatchOptions{
		Start: Position{Local: "10", "member": "20"}, Retry: 10 * time.Millisecond,
		NewObject: func() runtime.Object { return &metav1.PartialObjectMetadata{} }, Tag: tagCluster,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()

	local.add("l1")
	typ, what, rv := next(t, w)
	if typ != watch.Added || what != "/l1" {
		t.Fatalf("got %s %s, want ADDED /l1", typ, what)
	}
	p, err := ParsePosition(rv)
	if err != nil || p[Local] != "11" || p["member"] != "20" {
		t.Fatalf("position %q = %v, %v; want the hub at 11 and the member at 20", rv, p, err)
	}

	member.stop()
	typ, what, rv = next(t, w)
	if typ != watch.Deleted || what != "member/m1" {
		t.Fatalf("got %s %s, want DELETED member/m1 of the member that went away", typ, what)
	}
	if p, _ := ParsePosition(rv); len(p) != 1 || p[Local] != "11" {
		t.Fatalf("position after the member went = %v, want the hub's alone", p)
	}

	member.start()
	typ, what, rv = next(t, w)
	if typ != watch.Added || what != "member/m1" {
		t.Fatalf("got %s %s, want ADDED member/m1 when the member answers again", typ, what)
	}
	if p, _ := ParsePosition(rv); p["member"] != "20" {
		t.Fatalf("position after the member came back = %v, want the member at 20", p)
	}
}

func TestWatchTooOldPositionIsGone(t *testing.T) {
	local := &fakeCluster{objects: map[string]string{}, rv: 10}
	member := &fakeCluster{objects: map[string]string{}, rv: 20}
	_, err := Watch(context.Background(), []Source{local.source(Local), member.source("member")}, WatchOptions{
		Start: Position{Local: "10", "member": "1"}, Tag: tagCluster,
	})
	if !apierrors.IsResourceExpired(err) {
		t.Fatalf("err = %v, want 410 Gone", err)
	}
	_, err = Watch(context.Background(), []Source{local.source(Local)}, WatchOptions{
		Start: Position{Local: "10", "removed": "5"}, Tag: tagCluster,
	})
	if !apierrors.IsResourceExpired(err) {
		t.Fatalf("err = %v, want 410 Gone for a position in a cluster that is no member any more", err)
	}
}
