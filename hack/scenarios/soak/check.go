package soak

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// checkLoop checks every CheckEvery until ctx ends.
func (r *run) checkLoop(ctx context.Context) {
	for sleep(ctx, r.cfg.CheckEvery) {
		r.check(ctx)
	}
}

// check pauses the churn and waits, up to Settle each (side by side), until every identity's
// Space list, every AccountQuota's usage and every Space's Template copy agree with the truth;
// what does not agree by then is a mismatch. Over-admission is a mismatch at once.
func (r *run) check(ctx context.Context) {
	r.pause.Lock()
	defer r.pause.Unlock()
	if ctx.Err() != nil {
		return
	}
	start := time.Now()
	list, err := r.admin.kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: r.accountSelector()})
	if err != nil {
		r.report.addCheckError(fmt.Errorf("listing the run's Namespaces: %w", err))
		return
	}
	// Spaces being deleted are left out; their objects still count in the quota checks.
	var names []string
	byAccount := map[string][]string{}
	for _, ns := range list.Items {
		if ns.DeletionTimestamp == nil {
			names = append(names, ns.Name)
			a := ns.Labels["kiosk.sh/account"]
			byAccount[a] = append(byAccount[a], ns.Name)
		}
	}
	sort.Strings(names)
	for _, t := range r.tenants {
		if n := len(byAccount[t.name]); n > spaceLimit {
			r.report.addMismatch("over-admission", t.name, fmt.Sprintf("%d Spaces, limit %d", n, spaceLimit), fmt.Sprint(byAccount[t.name]))
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 6)
	parallel := func(f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			f()
		}()
	}
	for _, id := range r.identities() {
		parallel(func() {
			r.settle(ctx, "spaces", id.User, func(ctx context.Context) (string, string, error) {
				want, err := r.allowedSpaces(ctx, id, names)
				if err != nil {
					return "", "", err
				}
				got, err := r.listedSpaces(ctx, id, names)
				return fmt.Sprint(want), fmt.Sprint(got), err
			})
		})
	}
	for _, t := range r.tenants {
		parallel(func() {
			r.settle(ctx, "accountquota", t.name, func(ctx context.Context) (string, string, error) {
				return r.quotaAgrees(ctx, t.name)
			})
		})
	}
	r.mu.Lock()
	version := strconv.Itoa(r.templateVersion)
	r.mu.Unlock()
	for _, ns := range names {
		parallel(func() {
			r.settle(ctx, "template", ns, func(ctx context.Context) (string, string, error) {
				cm, err := r.admin.kube.CoreV1().ConfigMaps(ns).Get(ctx, templateConfigMap, metav1.GetOptions{})
				if err != nil {
					return "version " + version, "", err
				}
				return "version " + version, "version " + cm.Data["version"], nil
			})
		})
	}
	wg.Wait()
	r.report.addCheck(time.Since(start), len(names))
}

// settle polls compare until want equals got, for up to Settle; then it is a mismatch of kind
// about subject.
func (r *run) settle(ctx context.Context, kind, subject string, compare func(ctx context.Context) (want, got string, err error)) {
	var want, got string
	var lastErr error
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, r.cfg.Settle, true, func(ctx context.Context) (bool, error) {
		w, g, err := compare(ctx)
		want, got, lastErr = w, g, err
		return err == nil && w == g, nil
	})
	if err == nil || ctx.Err() != nil {
		return
	}
	if lastErr != nil {
		got = "error: " + lastErr.Error()
	}
	r.report.addMismatch(kind, subject, want, got)
}

func (r *run) identities() []identity {
	out := slices.Clone(r.viewers)
	for _, t := range r.tenants {
		out = append(out, t.user)
	}
	return out
}

// allowedSpaces are the namespaces SubjectAccessReview lets id get, or all of them when it
// may list namespaces.
func (r *run) allowedSpaces(ctx context.Context, id identity, namespaces []string) ([]string, error) {
	all, err := sar(ctx, r.admin.kube, id, authorizationv1.ResourceAttributes{Verb: "list", Resource: "namespaces"})
	if err != nil || all {
		return namespaces, err
	}
	var out []string
	for _, ns := range namespaces {
		ok, err := sar(ctx, r.admin.kube, id, authorizationv1.ResourceAttributes{Verb: "get", Resource: "namespaces", Name: ns, Namespace: ns})
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, ns)
		}
	}
	return out, nil
}

func sar(ctx context.Context, kube kubernetes.Interface, id identity, attrs authorizationv1.ResourceAttributes) (bool, error) {
	review, err := kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
		Spec: authorizationv1.SubjectAccessReviewSpec{User: id.User, Groups: append(slices.Clone(id.Groups), "system:authenticated"),
			ResourceAttributes: &attrs}}, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return review.Status.Allowed, nil
}

// listedSpaces are the Spaces id lists, among namespaces.
func (r *run) listedSpaces(ctx context.Context, id identity, namespaces []string) ([]string, error) {
	cfg := rest.CopyConfig(r.cfg.Admin)
	cfg.QPS, cfg.Burst = -1, 0
	cfg.Impersonate = rest.ImpersonationConfig{UserName: id.User, Groups: id.Groups}
	c, err := newClients(cfg)
	if err != nil {
		return nil, err
	}
	list, err := c.kiosk.TenancyV1alpha1().Spaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range list.Items {
		if slices.Contains(namespaces, s.Name) {
			out = append(out, s.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// quotaAgrees compares the AccountQuota's usage with the Pods and ConfigMaps in the Account's
// namespaces, those being deleted included.
func (r *run) quotaAgrees(ctx context.Context, account string) (string, string, error) {
	nss, err := r.admin.kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: "kiosk.sh/account=" + account})
	if err != nil {
		return "", "", err
	}
	var pods, cms int
	for _, n := range nss.Items {
		ns := n.Name
		p, err := r.admin.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return "", "", err
		}
		c, err := r.admin.kube.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return "", "", err
		}
		pods, cms = pods+len(p.Items), cms+len(c.Items)
	}
	if pods > podQuota || cms > configMapQuota {
		r.report.addMismatch("over-admission", account, fmt.Sprintf("at most %d Pods and %d ConfigMaps", podQuota, configMapQuota),
			fmt.Sprintf("%d Pods and %d ConfigMaps", pods, cms))
	}
	q, err := r.admin.kiosk.ConfigV1alpha1().AccountQuotas().Get(ctx, account, metav1.GetOptions{})
	if err != nil {
		return "", "", err
	}
	used := q.Status.Total.Used
	want := fmt.Sprintf("pods=%d configmaps=%d", pods, cms)
	got := fmt.Sprintf("pods=%d configmaps=%d", used.Pods().Value(), quantity(used, corev1.ResourceConfigMaps))
	return want, got, nil
}

func quantity(l corev1.ResourceList, name corev1.ResourceName) int64 {
	q := l[name]
	return q.Value()
}

// sample records the server's memory and goroutines every SampleEvery until ctx ends, and
// takes a heap profile when the warm-up ends.
func (r *run) sample(ctx context.Context) {
	start := time.Now()
	profiled := false
	for {
		s := Sample{At: time.Since(start).Round(time.Second).String(), Seconds: time.Since(start).Seconds()}
		s.RSSMiB, s.RSSAnonMiB, s.RSSFileMiB = rssMiB(r.cfg.ServerPID())
		raw, err := r.server.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
		if err == nil {
			s.Goroutines = metric(raw, "go_goroutines")
			s.HeapLiveMiB = metric(raw, "go_gc_heap_live_bytes") / mib
			s.HeapInuseMiB = metric(raw, "go_memstats_heap_inuse_bytes") / mib
			s.HeapIdleMiB = metric(raw, "go_memstats_heap_idle_bytes") / mib
			s.HeapReleasedMiB = metric(raw, "go_memstats_heap_released_bytes") / mib
			s.SysMiB = metric(raw, "go_memstats_sys_bytes") / mib
		}
		if ctx.Err() != nil {
			return
		}
		r.report.addSample(s)
		if !profiled && time.Since(start) >= warmUp(r.cfg.Duration) {
			profiled = true
			r.report.WarmUpHeap = r.heapProfile(ctx)
		}
		if !sleep(ctx, r.cfg.SampleEvery) {
			return
		}
	}
}

// heapProfile is the server's heap profile after a garbage collection (/debug/pprof/heap?gc=1),
// or nil when the server does not serve it (--profiling=false).
func (r *run) heapProfile(ctx context.Context) []byte {
	data, err := r.server.Discovery().RESTClient().Get().AbsPath("/debug/pprof/heap").Param("gc", "1").DoRaw(ctx)
	if err != nil {
		r.cfg.Log("soak %s: no heap profile: %v", r.cfg.Prefix, err)
		return nil
	}
	return data
}

const mib = 1 << 20

// rssMiB is the resident set size of process pid in MiB, all of it and its anonymous and
// file-backed parts (the latter mostly the executable's pages), or zeros when it cannot be
// read.
func rssMiB(pid int) (all, anon, file float64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, 0
	}
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			all = kb / 1024
		case "RssAnon:":
			anon = kb / 1024
		case "RssFile:":
			file = kb / 1024
		}
	}
	return all, anon, file
}

// metric is the value of an unlabelled metric in a Prometheus text exposition, or 0.
func metric(text []byte, name string) float64 {
	s := bufio.NewScanner(bytes.NewReader(text))
	s.Buffer(make([]byte, 1<<20), 1<<20)
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) == 2 && f[0] == name {
			v, _ := strconv.ParseFloat(f[1], 64)
			return v
		}
	}
	return 0
}
