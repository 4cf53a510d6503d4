package scenarios

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
)

// WatchResult is what the watch fan-out scenario saw.
type WatchResult struct {
	// Space is the time from a RoleBinding's create or delete to the ADDED or DELETED at
	// the watcher of the user it grants to.
	Space Sample
	// RoleBinding is the floor of the Space's chain: the time from the same RoleBinding
	// write to its ADDED or DELETED at a plain watch of every RoleBinding through
	// kube-apiserver, which is what the server's RBAC informer is sent.
	RoleBinding Sample
	// Added is, write by write, the Space event's time less the RoleBinding event's: what
	// the server and the aggregation hop add to what its informer is sent.
	Added Sample
	// Namespace is the baseline: the time from a label change of a namespace to the
	// MODIFIED at kube-apiserver's own watch of that namespace (fieldSelector=metadata.name).
	Namespace Sample
	// Barrier is the time from one RoleBinding naming every watcher's user to the ADDED at
	// each watcher.
	Barrier Sample
	// RBACChanges is how many RoleBindings were created or deleted while measured.
	RBACChanges int
	// ServerCPU and KubeAPIServerCPU are the CPU time the two processes used meanwhile.
	ServerCPU, KubeAPIServerCPU time.Duration
	// BarrierCPU is the server's CPU time from the barrier binding's write to its last
	// ADDED: one change sent to every watcher.
	BarrierCPU time.Duration
	// IdleCPU is the server's CPU time over WatchSettings.Idle, every watch open and
	// nothing changing: what the open watches cost by themselves.
	IdleCPU time.Duration
	// Missing are expected events that did not come in time; Unexpected the events no
	// change explains. Both must be empty.
	Missing, Unexpected []string
	// TenantSeats are the seats of the tenants' priority level (global-default) that
	// replica 0's API priority and fairness counted as executing once every watch was open
	// and nothing else was asked of it: an open watch must hold none.
	TenantSeats int
}

// WatchSettings are the sizes of the watch scenario, and what runs beside it.
type WatchSettings struct {
	// Watchers is how many Space watches are opened, one per user (and as many namespace
	// watches).
	Watchers int
	// Rounds is how many rounds of grant, label change, revoke, label change are timed.
	Rounds int
	// Seed seeds the random choice of users and namespaces.
	Seed uint64
	// Idle, when set, is how long the open watches are left alone before the rounds, with
	// the server's CPU time over that while measured (WatchResult.IdleCPU).
	Idle time.Duration
	// During, when set, is called once every watch is open and before the rounds; the
	// function it returns is called when the rounds are over (a profile of the server, say).
	During func(ctx context.Context) (done func())
}

// event is one event at one watcher.
type event struct {
	watcher int
	typ     watch.EventType
	name    string
	at      time.Time
}

func (ev event) String() string { return fmt.Sprintf("watcher %d: %s %s", ev.watcher, ev.typ, ev.name) }

// Watch opens watchers Space watches through kube-apiserver, one per user of p (each first
// lists its Spaces and must find exactly what p grants it), and as many watches of
// kube-apiserver's own on plain namespaces, one per namespace. Then, rounds times, it grants
// a random watcher's user a Space, changes a label of a watched namespace, revokes the
// grant and changes the label again, each time waiting for the one event that change must
// cause. Every other event is unexpected. A last RoleBinding naming every watcher's user
// ends the run: each watch delivers in order, so what is unexpected has arrived by the time
// that binding's ADDED has.
//
// Beside them, one plain watch of every RoleBinding through kube-apiserver gets what the
// server's RBAC informer gets: its ADDED or DELETED of each timed RoleBinding is the floor of
// the Space event's chain, timed from the same write.
func Watch(ctx context.Context, e *Env, p Population, s WatchSettings) (*WatchResult, error) {
	watchers, rounds := s.Watchers, s.Rounds
	if watchers > p.Users {
		return nil, fmt.Errorf("%d watchers need as many users, the population has %d", watchers, p.Users)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The watches live as long as ctx, not as long as the job that opens them.
	watchCtx := ctx
	kube := e.Kube()
	visible := p.Visible()
	plain := func(i int) string { return fmt.Sprintf("%s-plain-%04d", p.Prefix, i) }
	barrier := p.Prefix + "-barrier"
	labels := p.labels()
	var jobs []func(context.Context) error
	for i := range watchers {
		jobs = append(jobs, func(ctx context.Context) error {
			_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
				ObjectMeta: metav1.ObjectMeta{Name: plain(i), Labels: labels}}, metav1.CreateOptions{})
			return err
		})
	}
	spaceLabels := p.labels()
	spaceLabels[configv1alpha1.AccountLabel] = p.Prefix
	jobs = append(jobs, func(ctx context.Context) error {
		_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
			ObjectMeta: metav1.ObjectMeta{Name: barrier, Labels: spaceLabels}}, metav1.CreateOptions{})
		return err
	})
	if err := run(ctx, 16, jobs); err != nil {
		return nil, fmt.Errorf("creating the watched namespaces: %w", err)
	}
	// The barrier binding of an earlier run on the same population would show in every
	// watcher's first list.
	// One that is left is deleted, and the run waits until the server no longer shows the
	// barrier to the first watcher's user (one change takes it from every user at once).
	dropBarrier := func(ctx context.Context) (bool, error) {
		err := kube.RbacV1().RoleBindings(barrier).Delete(ctx, "barrier", metav1.DeleteOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("deleting the barrier RoleBinding: %w", err)
		}
		return true, nil
	}
	if left, err := dropBarrier(ctx); err != nil {
		return nil, err
	} else if left {
		spaces := versioned.NewForConfigOrDie(e.As(p.User(0))).TenancyV1alpha1().Spaces()
		err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			_, err := spaces.Get(ctx, barrier, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			return nil, fmt.Errorf("waiting for the server to drop an earlier run's barrier: %w", err)
		}
	}
	defer func() { _, _ = dropBarrier(context.WithoutCancel(ctx)) }()

	events := make(chan event, 16*watchers+1024)
	var readers sync.WaitGroup
	defer readers.Wait()
	defer cancel()
	read := func(i int, w watch.Interface) {
		follow(ctx, &readers, w, func(ev watch.Event) {
			if ev.Type == watch.Bookmark {
				return
			}
			name := ""
			if o, ok := ev.Object.(metav1.Object); ok {
				name = o.GetName()
			} else if st, ok := ev.Object.(*metav1.Status); ok {
				name = st.Message
			}
			events <- event{watcher: i, typ: ev.Type, name: name, at: time.Now()}
		})
	}
	timeout := int64(3 * 3600)
	e.Logf("opening %d Space watches and %d namespace watches", watchers, watchers)
	jobs = nil
	var mu sync.Mutex
	var wrong []string
	for i := range watchers {
		user := p.User(i)
		jobs = append(jobs, func(ctx context.Context) error {
			spaces := versioned.NewForConfigOrDie(e.As(user)).TenancyV1alpha1().Spaces()
			list, err := spaces.List(ctx, metav1.ListOptions{})
			if err != nil {
				return err
			}
			var got, want []string
			for _, s := range list.Items {
				got = append(got, s.Name)
			}
			for ns := range visible[user] {
				want = append(want, p.Namespace(ns))
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				mu.Lock()
				wrong = append(wrong, fmt.Sprintf("%s lists %v, want %v", user, got, want))
				mu.Unlock()
			}
			w, err := spaces.Watch(watchCtx, metav1.ListOptions{ResourceVersion: list.ResourceVersion, AllowWatchBookmarks: true, TimeoutSeconds: &timeout})
			if err != nil {
				return err
			}
			read(i, w)
			return nil
		}, func(ctx context.Context) error {
			sel := "metadata.name=" + plain(i)
			list, err := kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{FieldSelector: sel})
			if err != nil {
				return err
			}
			w, err := kube.CoreV1().Namespaces().Watch(watchCtx, metav1.ListOptions{FieldSelector: sel, ResourceVersion: list.ResourceVersion, TimeoutSeconds: &timeout})
			if err != nil {
				return err
			}
			read(watchers+i, w)
			return nil
		})
	}
	if err := run(ctx, 16, jobs); err != nil {
		return nil, fmt.Errorf("opening the watches: %w", err)
	}
	bindings, err := watchRoleBindings(watchCtx, e, &readers)
	if err != nil {
		return nil, err
	}
	if len(wrong) > 0 {
		sort.Strings(wrong)
		return nil, fmt.Errorf("%d users list the wrong Spaces: %v", len(wrong), wrong[:min(len(wrong), 5)])
	}

	res := &WatchResult{
		Space:       Sample{Name: "RoleBinding write → ADDED/DELETED at the user's Space watch"},
		RoleBinding: Sample{Name: "same write → ADDED/DELETED at a RoleBinding watch (floor)"},
		Added:       Sample{Name: "Space event − RoleBinding event, write by write"},
		Namespace:   Sample{Name: "namespace label write → MODIFIED at its watch (baseline)"},
		Barrier:     Sample{Name: fmt.Sprintf("one RoleBinding for all %d users → ADDED at each", watchers)},
	}
	seats, err := executingSeats(ctx, e, "global-default")
	if err != nil {
		return nil, err
	}
	res.TenantSeats = seats
	// expect waits for the event want, recording every other event as unexpected.
	expect := func(start time.Time, want event) (time.Duration, bool) {
		deadline := time.After(10 * time.Second)
		for {
			select {
			case ev := <-events:
				if ev.watcher == want.watcher && ev.typ == want.typ && ev.name == want.name {
					return ev.at.Sub(start), true
				}
				res.Unexpected = append(res.Unexpected, ev.String())
			case <-deadline:
				res.Missing = append(res.Missing, want.String())
				return 0, false
			case <-ctx.Done():
				return 0, false
			}
		}
	}
	// timeRBAC times one RoleBinding write, at the Space watch and at the RoleBinding watch.
	timeRBAC := func(start time.Time, want event, namespace, name string) {
		d, ok := expect(start, want)
		if ok {
			res.Space.Add(d)
		}
		floor, floorOK := bindings.expect(start, want.typ, namespace+"/"+name)
		if !floorOK {
			res.Missing = append(res.Missing, fmt.Sprintf("RoleBinding watch: %s %s/%s", want.typ, namespace, name))
			return
		}
		res.RoleBinding.Add(floor)
		if ok {
			res.Added.Add(d - floor)
		}
	}
	if s.During != nil {
		done := s.During(ctx)
		defer done()
	}
	serverPID, kubePID := e.PID("tenancy-apiserver-0"), e.PID("kube-apiserver")
	if s.Idle > 0 {
		e.Logf("every watch open, nothing changing for %s", s.Idle)
		idle0, _ := CPUTime(serverPID)
		select {
		case <-time.After(s.Idle):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		idle1, _ := CPUTime(serverPID)
		res.IdleCPU = idle1 - idle0
	}
	rng := rand.New(rand.NewPCG(s.Seed, s.Seed^0x9e3779b97f4a7c15))
	cpu0, _ := CPUTime(serverPID)
	kcpu0, _ := CPUTime(kubePID)
	e.Logf("%d rounds of grant, label change, revoke, label change", rounds)
	for r := range rounds {
		u := rng.IntN(watchers)
		ns := rng.IntN(p.Namespaces)
		for visible[p.User(u)][ns] {
			ns = rng.IntN(p.Namespaces)
		}
		name := fmt.Sprintf("%s-grant-%05d", p.Prefix, r)
		space := p.Namespace(ns)
		start := time.Now()
		if err := createRoleBinding(ctx, kube, space, name, p.User(u), labels); err != nil {
			return nil, err
		}
		res.RBACChanges++
		timeRBAC(start, event{watcher: u, typ: watch.Added, name: space}, space, name)
		if err := relabel(ctx, e, plain(u), "a", res, expect, watchers+u); err != nil {
			return nil, err
		}
		start = time.Now()
		if err := kube.RbacV1().RoleBindings(space).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			return nil, err
		}
		res.RBACChanges++
		timeRBAC(start, event{watcher: u, typ: watch.Deleted, name: space}, space, name)
		if err := relabel(ctx, e, plain(u), "b", res, expect, watchers+u); err != nil {
			return nil, err
		}
	}
	cpu1, _ := CPUTime(serverPID)
	kcpu1, _ := CPUTime(kubePID)
	res.ServerCPU, res.KubeAPIServerCPU = cpu1-cpu0, kcpu1-kcpu0

	// The barrier: one binding for every watcher's user.
	subjects := make([]rbacv1.Subject, watchers)
	for i := range subjects {
		subjects[i] = rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: p.User(i)}
	}
	bcpu0, _ := CPUTime(serverPID)
	start := time.Now()
	_, err = kube.RbacV1().RoleBindings(barrier).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "barrier", Labels: labels}, Subjects: subjects,
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
	}, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	pending := map[int]bool{}
	for i := range watchers {
		pending[i] = true
	}
	deadline := time.After(30 * time.Second)
	for len(pending) > 0 {
		select {
		case ev := <-events:
			if ev.watcher < watchers && pending[ev.watcher] && ev.typ == watch.Added && ev.name == barrier {
				delete(pending, ev.watcher)
				res.Barrier.Add(ev.at.Sub(start))
				continue
			}
			res.Unexpected = append(res.Unexpected, ev.String())
		case <-deadline:
			for i := range pending {
				res.Missing = append(res.Missing, event{watcher: i, typ: watch.Added, name: barrier}.String())
			}
			pending = nil
		}
	}
	bcpu1, _ := CPUTime(serverPID)
	res.BarrierCPU = bcpu1 - bcpu0
	// Whatever else is queued already is unexpected too.
	for {
		select {
		case ev := <-events:
			res.Unexpected = append(res.Unexpected, ev.String())
		default:
			return res, nil
		}
	}
}

// follow reads w on a goroutine that readers waits for, until ctx ends or w closes, and
// hands each event to handle; a watch that closes while ctx lasts is handed as an event of
// type CLOSED.
func follow(ctx context.Context, readers *sync.WaitGroup, w watch.Interface, handle func(watch.Event)) {
	readers.Add(1)
	go func() {
		defer readers.Done()
		defer w.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-w.ResultChan():
				if !ok {
					if ctx.Err() == nil {
						handle(watch.Event{Type: "CLOSED"})
					}
					return
				}
				handle(ev)
			}
		}
	}()
}

// bindingWatch is a plain watch of every RoleBinding through kube-apiserver, as the
// server's informer has: its events, keyed namespace/name, with when they came.
type bindingWatch struct{ events chan event }

// watchRoleBindings opens the RoleBinding watch from the current resourceVersion.
func watchRoleBindings(ctx context.Context, e *Env, readers *sync.WaitGroup) (*bindingWatch, error) {
	rbac := e.Kube().RbacV1().RoleBindings(metav1.NamespaceAll)
	list, err := rbac.List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil {
		return nil, fmt.Errorf("listing RoleBindings: %w", err)
	}
	timeout := int64(3 * 3600)
	w, err := rbac.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion, TimeoutSeconds: &timeout})
	if err != nil {
		return nil, fmt.Errorf("watching RoleBindings: %w", err)
	}
	b := &bindingWatch{events: make(chan event, 4096)}
	follow(ctx, readers, w, func(ev watch.Event) {
		if o, isObject := ev.Object.(metav1.Object); isObject {
			select {
			case b.events <- event{typ: ev.Type, name: o.GetNamespace() + "/" + o.GetName(), at: time.Now()}:
			case <-ctx.Done():
			}
		}
	})
	return b, nil
}

// expect waits for the event typ of the RoleBinding key and returns its time since start.
// Events of other RoleBindings (the cluster's own, other tests') are passed over.
func (b *bindingWatch) expect(start time.Time, typ watch.EventType, key string) (time.Duration, bool) {
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-b.events:
			if ev.typ == typ && ev.name == key {
				return ev.at.Sub(start), true
			}
		case <-deadline:
			return 0, false
		}
	}
}

// executingSeats is the number of seats of a priority level that replica 0's API priority
// and fairness counts as executing now.
func executingSeats(ctx context.Context, e *Env, level string) (int, error) {
	body, err := e.ServerGet(ctx, "/metrics")
	if err != nil {
		return 0, fmt.Errorf("reading the server's metrics: %w", err)
	}
	seats := 0
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, "apiserver_flowcontrol_current_executing_seats{") ||
			!strings.Contains(line, `priority_level="`+level+`"`) {
			continue
		}
		fields := strings.Fields(line)
		n, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			return 0, fmt.Errorf("metric line %q: %w", line, err)
		}
		seats += int(n)
	}
	return seats, nil
}

// relabel changes a label of the plain namespace name and waits for its watcher's MODIFIED.
func relabel(ctx context.Context, e *Env, name, value string, res *WatchResult,
	expect func(time.Time, event) (time.Duration, bool), watcher int) error {
	patch := fmt.Sprintf(`{"metadata":{"labels":{"scenarios.kiosk.sh/round":%q}}}`, value)
	start := time.Now()
	if _, err := e.Kube().CoreV1().Namespaces().Patch(ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		return err
	}
	if d, ok := expect(start, event{watcher: watcher, typ: watch.Modified, name: name}); ok {
		res.Namespace.Add(d)
	}
	return nil
}
