package scenarios

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
)

// PopulationLabel marks every object a Population creates, with its prefix as the value.
const PopulationLabel = "scenarios.kiosk.sh/population"

// Population is the cluster a scenario runs on. Every name starts with Prefix:
//   - Namespaces Spaces <prefix>-00000…, labelled kiosk.sh/account=<prefix> (an Account of
//     that name does not exist, so no controller acts on them);
//   - RoleBindings bindings of ClusterRole view to Users, round-robin, each user's k-th in a
//     namespace of its own among the first bindingNamespaces (at most 1,000), so that a
//     cluster grown from 1,000 to 10,000 namespaces keeps the same bindings;
//   - ClusterRoleBindings bindings of Users to 50 ClusterRoles that grant nothing on
//     namespaces (get and list of ConfigMaps): work for the index, no Space made visible;
//   - Accounts Accounts with one user each as their subject, and no Spaces;
//   - the lister, <prefix>-lister, who sees exactly 10 Spaces through RoleBindings.
type Population struct {
	Prefix              string
	Namespaces          int
	RoleBindings        int
	ClusterRoleBindings int
	Users               int
	Accounts            int
}

// ListerSpaces is how many Spaces the lister sees.
const ListerSpaces = 10

// clusterRoles is how many ClusterRoles the ClusterRoleBindings share.
const clusterRoles = 50

// Namespace is the name of the i-th namespace.
func (p Population) Namespace(i int) string { return fmt.Sprintf("%s-%05d", p.Prefix, i) }

// User is the name of the u-th user.
func (p Population) User(u int) string { return fmt.Sprintf("%s-u%04d", p.Prefix, u) }

// Lister is the user who sees exactly ListerSpaces Spaces.
func (p Population) Lister() string { return p.Prefix + "-lister" }

func (p Population) bindingNamespaces() int { return min(p.Namespaces, 1000) }

// binding is the namespace index of RoleBinding j, and its user.
func (p Population) binding(j int) (ns, user int) {
	user = j % p.Users
	k := j / p.Users
	return (user*7919 + k*131) % p.bindingNamespaces(), user
}

// ListerNamespaces are the namespace indexes of the lister's Spaces.
func (p Population) ListerNamespaces() []int {
	out := make([]int, ListerSpaces)
	for i := range out {
		out[i] = i * p.bindingNamespaces() / ListerSpaces
	}
	return out
}

// Visible is the namespace indexes each user sees through the population's RoleBindings.
func (p Population) Visible() map[string]map[int]bool {
	out := map[string]map[int]bool{}
	for j := range p.RoleBindings {
		ns, u := p.binding(j)
		if out[p.User(u)] == nil {
			out[p.User(u)] = map[int]bool{}
		}
		out[p.User(u)][ns] = true
	}
	lister := map[int]bool{}
	for _, ns := range p.ListerNamespaces() {
		lister[ns] = true
	}
	out[p.Lister()] = lister
	return out
}

func (p Population) labels() map[string]string { return map[string]string{PopulationLabel: p.Prefix} }

// Populate creates what is missing of p, with workers concurrent requests, and waits until
// the lister sees its Spaces through kube-apiserver.
func Populate(ctx context.Context, e *Env, p Population, workers int) error {
	if p.Users < 1 || p.Namespaces < ListerSpaces {
		return fmt.Errorf("a population needs at least one user and %d namespaces", ListerSpaces)
	}
	kube, kiosk := e.Kube(), e.Kiosk()
	start := time.Now()
	have, err := existing(ctx, e, p)
	if err != nil {
		return err
	}
	var jobs []func(context.Context) error
	add := func(key string, job func(context.Context) error) {
		if !have[key] {
			jobs = append(jobs, job)
		}
	}
	for i := range p.Namespaces {
		add("ns/"+p.Namespace(i), func(ctx context.Context) error {
			labels := p.labels()
			labels[configv1alpha1.AccountLabel] = p.Prefix
			_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
				ObjectMeta: metav1.ObjectMeta{Name: p.Namespace(i), Labels: labels}}, metav1.CreateOptions{})
			return err
		})
	}
	if err := run(ctx, workers, jobs); err != nil {
		return fmt.Errorf("creating namespaces: %w", err)
	}
	e.Logf("%d namespaces (%d new) in %s", p.Namespaces, len(jobs), time.Since(start).Round(time.Second))
	jobs = nil
	for j := range p.RoleBindings {
		ns, u := p.binding(j)
		name := fmt.Sprintf("%s-rb-%05d", p.Prefix, j)
		add("rb/"+p.Namespace(ns)+"/"+name, func(ctx context.Context) error {
			return createRoleBinding(ctx, kube, p.Namespace(ns), name, p.User(u), p.labels())
		})
	}
	for i, ns := range p.ListerNamespaces() {
		name := fmt.Sprintf("%s-lister-%02d", p.Prefix, i)
		add("rb/"+p.Namespace(ns)+"/"+name, func(ctx context.Context) error {
			return createRoleBinding(ctx, kube, p.Namespace(ns), name, p.Lister(), p.labels())
		})
	}
	for c := range min(clusterRoles, p.ClusterRoleBindings) {
		name := fmt.Sprintf("%s-cr-%02d", p.Prefix, c)
		add("cr/"+name, func(ctx context.Context) error {
			_, err := kube.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: p.labels()},
				Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}}},
			}, metav1.CreateOptions{})
			return err
		})
	}
	for c := range p.ClusterRoleBindings {
		name := fmt.Sprintf("%s-crb-%03d", p.Prefix, c)
		add("crb/"+name, func(ctx context.Context) error {
			_, err := kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: p.labels()},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: p.User((c * 37) % p.Users)}},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: fmt.Sprintf("%s-cr-%02d", p.Prefix, c%clusterRoles)},
			}, metav1.CreateOptions{})
			return err
		})
	}
	for a := range p.Accounts {
		name := fmt.Sprintf("%s-acct-%04d", p.Prefix, a)
		add("account/"+name, func(ctx context.Context) error {
			_, err := kiosk.ConfigV1alpha1().Accounts().Create(ctx, &configv1alpha1.Account{
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: p.labels()},
				Spec: configv1alpha1.AccountSpec{Subjects: []rbacv1.Subject{
					{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: p.User(a % p.Users)}}},
			}, metav1.CreateOptions{})
			return err
		})
	}
	if err := run(ctx, workers, jobs); err != nil {
		return fmt.Errorf("creating RBAC and Accounts: %w", err)
	}
	e.Logf("population %s ready in %s: %d namespaces, %d RoleBindings, %d ClusterRoleBindings, %d Accounts",
		p.Prefix, time.Since(start).Round(time.Second), p.Namespaces, p.RoleBindings+ListerSpaces, p.ClusterRoleBindings, p.Accounts)
	return Eventually(ctx, time.Minute, func(ctx context.Context) error {
		spaces, err := versioned.NewForConfigOrDie(e.As(p.Lister())).TenancyV1alpha1().Spaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		if len(spaces.Items) != ListerSpaces {
			return fmt.Errorf("%s sees %d Spaces, want %d", p.Lister(), len(spaces.Items), ListerSpaces)
		}
		return nil
	})
}

// existing is what of p exists already, by kind and name ("ns/<name>", "rb/<ns>/<name>").
func existing(ctx context.Context, e *Env, p Population) (map[string]bool, error) {
	kube, kiosk := e.Kube(), e.Kiosk()
	sel := metav1.ListOptions{LabelSelector: PopulationLabel + "=" + p.Prefix}
	have := map[string]bool{}
	nss, err := kube.CoreV1().Namespaces().List(ctx, sel)
	if err != nil {
		return nil, err
	}
	for _, o := range nss.Items {
		have["ns/"+o.Name] = true
	}
	rbs, err := kube.RbacV1().RoleBindings("").List(ctx, sel)
	if err != nil {
		return nil, err
	}
	for _, o := range rbs.Items {
		have["rb/"+o.Namespace+"/"+o.Name] = true
	}
	crs, err := kube.RbacV1().ClusterRoles().List(ctx, sel)
	if err != nil {
		return nil, err
	}
	for _, o := range crs.Items {
		have["cr/"+o.Name] = true
	}
	crbs, err := kube.RbacV1().ClusterRoleBindings().List(ctx, sel)
	if err != nil {
		return nil, err
	}
	for _, o := range crbs.Items {
		have["crb/"+o.Name] = true
	}
	accounts, err := kiosk.ConfigV1alpha1().Accounts().List(ctx, sel)
	if err != nil {
		return nil, err
	}
	for _, o := range accounts.Items {
		have["account/"+o.Name] = true
	}
	return have, nil
}

// Existing is how many Spaces of p exist, whatever p.Namespaces says.
func Existing(ctx context.Context, e *Env, p Population) (int, error) {
	have, err := existing(ctx, e, p)
	if err != nil {
		return 0, err
	}
	n := 0
	for key := range have {
		if digits, ok := strings.CutPrefix(key, "ns/"+p.Prefix+"-"); ok && len(digits) == 5 && strings.Trim(digits, "0123456789") == "" {
			n++
		}
	}
	return n, nil
}

func createRoleBinding(ctx context.Context, kube kubernetes.Interface, ns, name, user string, labels map[string]string) error {
	_, err := kube.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
	}, metav1.CreateOptions{})
	return err
}

// Depopulate deletes everything p created (namespaces go through their finalization).
func Depopulate(ctx context.Context, e *Env, p Population, workers int) error {
	kube, kiosk := e.Kube(), e.Kiosk()
	sel := metav1.ListOptions{LabelSelector: PopulationLabel + "=" + p.Prefix}
	var jobs []func(context.Context) error
	nss, err := kube.CoreV1().Namespaces().List(ctx, sel)
	if err != nil {
		return err
	}
	for _, ns := range nss.Items {
		jobs = append(jobs, func(ctx context.Context) error {
			return kube.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
		})
	}
	accounts, err := kiosk.ConfigV1alpha1().Accounts().List(ctx, sel)
	if err != nil {
		return err
	}
	for _, a := range accounts.Items {
		jobs = append(jobs, func(ctx context.Context) error {
			return kiosk.ConfigV1alpha1().Accounts().Delete(ctx, a.Name, metav1.DeleteOptions{})
		})
	}
	jobs = append(jobs,
		func(ctx context.Context) error {
			return kube.RbacV1().ClusterRoleBindings().DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
		},
		func(ctx context.Context) error {
			return kube.RbacV1().ClusterRoles().DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
		})
	return run(ctx, workers, jobs)
}

// run runs jobs on workers goroutines; an object that already exists or is already gone
// counts as done. It returns the first other error.
func run(parent context.Context, workers int, jobs []func(context.Context) error) error {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range max(workers, 1) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(jobs) || ctx.Err() != nil {
					return
				}
				if err := jobs[i](ctx); err != nil && !apierrors.IsAlreadyExists(err) && !apierrors.IsNotFound(err) {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					cancel()
				}
			}
		}()
	}
	wg.Wait()
	if first == nil {
		return parent.Err()
	}
	return first
}

// Eventually polls cond every 20 ms until it returns nil, and returns its last error once
// timeout has passed.
func Eventually(ctx context.Context, timeout time.Duration, cond func(context.Context) error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond(ctx)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: %w", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func ignoreExists(err error) error {
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
