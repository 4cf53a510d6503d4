package soak

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	tenancyv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy/v1alpha1"
)

// templateConfigMap is the ConfigMap the run's Template puts in every Space.
const templateConfigMap = "soak-template"

// runLabel marks what the run makes in Spaces, by the run's prefix.
const runLabel = "soak.tenancy.kiosk.sh/run"

// tenant is one Account of the run, with the user who is its subject.
type tenant struct {
	name string
	user identity
	as   clients
	mu   sync.Mutex
	// spaces are the tenant's Spaces as its user last listed them.
	spaces []string
	next   int
}

func (t *tenant) randomSpace(rnd *rand.Rand) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.spaces) == 0 {
		return ""
	}
	return t.spaces[rnd.IntN(len(t.spaces))]
}

func (r *run) template() string    { return r.cfg.Prefix + "-template" }
func (r *run) nsLister() string    { return r.cfg.Prefix + "-namespace-lister" }
func (r *run) editBinding() string { return r.cfg.Prefix + "-kiosk-edit" }

// spaceDeleter is the ClusterRole that lets a tenant's user delete a Space it made: the
// Account's ClusterRole (admin) covers what is in the Space, not the namespace itself.
func (r *run) spaceDeleter() string { return r.cfg.Prefix + "-space-deleter" }

func (r *run) templateObject(version int) *configv1alpha1.Template {
	cm := fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q},"data":{"version":"%d"}}`, templateConfigMap, version)
	return &configv1alpha1.Template{
		ObjectMeta: metav1.ObjectMeta{Name: r.template()},
		Resources:  configv1alpha1.TemplateResources{Manifests: []runtime.RawExtension{{Raw: []byte(cm)}}},
	}
}

// setup makes the Template, the tenants' Accounts and AccountQuotas, the grant that lets
// their users create Spaces, and the ClusterRole that lets a viewer list every namespace.
func (r *run) setup(ctx context.Context) error {
	p := r.cfg.Prefix
	if _, err := r.admin.kiosk.ConfigV1alpha1().Templates().Create(ctx, r.templateObject(1), metav1.CreateOptions{}); err != nil {
		return err
	}
	var subjects []rbacv1.Subject
	for i := range r.cfg.Tenants {
		name := fmt.Sprintf("%s-t%d", p, i)
		t := &tenant{name: name, user: identity{User: name + "-user"}}
		cfg := rest.CopyConfig(r.cfg.Admin)
		cfg.QPS, cfg.Burst = -1, 0
		cfg.Impersonate = rest.ImpersonationConfig{UserName: t.user.User}
		var err error
		if t.as, err = newClients(cfg); err != nil {
			return err
		}
		subjects = append(subjects, rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: t.user.User})
		limit := int32(spaceLimit)
		_, err = r.admin.kiosk.ConfigV1alpha1().Accounts().Create(ctx, &configv1alpha1.Account{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: configv1alpha1.AccountSpec{
				Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: t.user.User}},
				Space: configv1alpha1.AccountSpace{Limit: &limit, TemplateInstances: []configv1alpha1.AccountTemplateInstanceTemplate{{
					ObjectMeta: metav1.ObjectMeta{Name: "soak"},
					Spec:       configv1alpha1.TemplateInstanceSpec{Template: r.template(), Sync: true},
				}}},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		_, err = r.admin.kiosk.ConfigV1alpha1().AccountQuotas().Create(ctx, &configv1alpha1.AccountQuota{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: configv1alpha1.AccountQuotaSpec{Account: name, Quota: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
				corev1.ResourcePods:       *resource.NewQuantity(podQuota, resource.DecimalSI),
				corev1.ResourceConfigMaps: *resource.NewQuantity(configMapQuota, resource.DecimalSI),
			}}},
		}, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		r.tenants = append(r.tenants, t)
	}
	for i := range r.cfg.Viewers {
		r.viewers = append(r.viewers, identity{User: fmt.Sprintf("%s-v%d", p, i), Groups: []string{fmt.Sprintf("%s-g%d", p, i%2)}})
	}
	rbac := r.admin.kube.RbacV1()
	if _, err := rbac.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: r.editBinding()},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "kiosk-edit"},
		Subjects:   subjects,
	}, metav1.CreateOptions{}); err != nil {
		return err
	}
	if _, err := rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: r.spaceDeleter()},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"delete"}}},
	}, metav1.CreateOptions{}); err != nil {
		return err
	}
	_, err := rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: r.nsLister()},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list"}}},
	}, metav1.CreateOptions{})
	return err
}

// cleanup removes everything the run made, Spaces first.
func (r *run) cleanup() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if nss, err := r.admin.kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: r.accountSelector()}); err == nil {
		for _, ns := range nss.Items {
			_ = r.admin.kube.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{})
		}
	}
	for _, t := range r.tenants {
		_ = r.admin.kiosk.ConfigV1alpha1().AccountQuotas().Delete(ctx, t.name, metav1.DeleteOptions{})
		_ = r.admin.kiosk.ConfigV1alpha1().Accounts().Delete(ctx, t.name, metav1.DeleteOptions{})
	}
	_ = r.admin.kiosk.ConfigV1alpha1().Templates().Delete(ctx, r.template(), metav1.DeleteOptions{})
	_ = r.admin.kube.RbacV1().ClusterRoleBindings().Delete(ctx, r.editBinding(), metav1.DeleteOptions{})
	_ = r.admin.kube.RbacV1().ClusterRoleBindings().Delete(ctx, r.nsLister(), metav1.DeleteOptions{})
	_ = r.admin.kube.RbacV1().ClusterRoles().Delete(ctx, r.nsLister(), metav1.DeleteOptions{})
	_ = r.admin.kube.RbacV1().ClusterRoles().Delete(ctx, r.spaceDeleter(), metav1.DeleteOptions{})
}

// accountSelector selects the Namespaces of every tenant of the run.
func (r *run) accountSelector() string {
	names := make([]string, 0, len(r.tenants))
	for _, t := range r.tenants {
		names = append(names, t.name)
	}
	return "kiosk.sh/account in (" + strings.Join(names, ",") + ")"
}

// churnSpaces lists the tenant's Spaces as its user and creates one (up to, and at times
// beyond, the limit) or deletes one.
func (r *run) churnSpaces(ctx context.Context, rnd *rand.Rand, t *tenant) {
	for sleep(ctx, jitter(rnd, 300*time.Millisecond, 1200*time.Millisecond)) {
		r.pausable(func() {
			list, err := t.as.kiosk.TenancyV1alpha1().Spaces().List(ctx, metav1.ListOptions{FieldSelector: "spec.account=" + t.name})
			if r.stats.record(ctx, "list spaces", err, nil) != nil {
				return
			}
			var names []string
			for _, s := range list.Items {
				if s.DeletionTimestamp == nil {
					names = append(names, s.Name)
				}
			}
			t.mu.Lock()
			t.spaces = names
			t.mu.Unlock()
			// Creates win a little over deletes, so the limit is often reached and tried.
			if len(names) == 0 || rnd.IntN(10) < 6 {
				name := fmt.Sprintf("%s-s%d", t.name, t.next)
				t.next++
				_, err := t.as.kiosk.TenancyV1alpha1().Spaces().Create(ctx, &tenancyv1alpha1.Space{
					ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: tenancyv1alpha1.SpaceSpec{Account: t.name}}, metav1.CreateOptions{})
				// A new Space's mandatory ConfigMap counts against the AccountQuota too.
				if r.stats.record(ctx, "create space", err, func(err error) bool {
					return apierrors.IsForbidden(err) && (strings.Contains(err.Error(), "space limit") || strings.Contains(err.Error(), "exceeded quota"))
				}) != nil {
					return
				}
				_, err = r.admin.kube.RbacV1().RoleBindings(name).Create(ctx, &rbacv1.RoleBinding{
					ObjectMeta: metav1.ObjectMeta{Name: "soak-space-deleter"},
					RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: r.spaceDeleter()},
					Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: t.user.User}},
				}, metav1.CreateOptions{})
				r.stats.record(ctx, "grant space delete", err, nil)
				return
			}
			err = t.as.kiosk.TenancyV1alpha1().Spaces().Delete(ctx, names[rnd.IntN(len(names))], metav1.DeleteOptions{})
			r.stats.record(ctx, "delete space", err, apierrors.IsNotFound)
		})
	}
}

// churnObjects creates and deletes Pods and ConfigMaps in the tenant's Spaces as its user,
// beyond the AccountQuota at times.
func (r *run) churnObjects(ctx context.Context, rnd *rand.Rand, t *tenant) {
	// A Space being deleted refuses new objects, and its Account's RoleBinding may be gone
	// first; a Space just deleted is not found.
	gone := func(err error) bool {
		if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) && strings.Contains(err.Error(), "being terminated") {
			return true
		}
		return apierrors.IsForbidden(err) && r.spaceGoing(ctx, errNamespace(err))
	}
	overQuota := func(err error) bool {
		return gone(err) || apierrors.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota")
	}
	for sleep(ctx, jitter(rnd, 100*time.Millisecond, 500*time.Millisecond)) {
		ns := t.randomSpace(rnd)
		if ns == "" {
			continue
		}
		r.pausable(func() {
			core := t.as.kube.CoreV1()
			labels := map[string]string{runLabel: r.cfg.Prefix}
			switch n := rnd.IntN(20); {
			case n < 7:
				_, err := core.Pods(ns).Create(ctx, &corev1.Pod{
					ObjectMeta: metav1.ObjectMeta{GenerateName: "p-", Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}},
				}, metav1.CreateOptions{})
				r.stats.record(ctx, "create pod", err, overQuota)
			case n < 11:
				_, err := core.ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{
					ObjectMeta: metav1.ObjectMeta{GenerateName: "cm-", Labels: labels},
					Data:       map[string]string{"n": fmt.Sprint(n)},
				}, metav1.CreateOptions{})
				r.stats.record(ctx, "create configmap", err, overQuota)
			case n < 16:
				pods, err := core.Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: runLabel})
				if r.stats.record(ctx, "list pods", err, gone) != nil || len(pods.Items) == 0 {
					return
				}
				err = core.Pods(ns).Delete(ctx, pods.Items[rnd.IntN(len(pods.Items))].Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
				r.stats.record(ctx, "delete pod", err, gone)
			default:
				cms, err := core.ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: runLabel})
				if r.stats.record(ctx, "list configmaps", err, gone) != nil || len(cms.Items) == 0 {
					return
				}
				err = core.ConfigMaps(ns).Delete(ctx, cms.Items[rnd.IntN(len(cms.Items))].Name, metav1.DeleteOptions{})
				r.stats.record(ctx, "delete configmap", err, gone)
			}
		})
	}
}

// spaceGoing reports whether namespace ns is gone or being deleted.
func (r *run) spaceGoing(ctx context.Context, ns string) bool {
	if ns == "" {
		return false
	}
	n, err := r.admin.kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	return apierrors.IsNotFound(err) || err == nil && n.DeletionTimestamp != nil
}

// errNamespace is the namespace an RBAC refusal names ("... in the namespace \"x\""), or "".
func errNamespace(err error) string {
	_, after, ok := strings.Cut(err.Error(), `in the namespace "`)
	if !ok {
		return ""
	}
	ns, _, _ := strings.Cut(after, `"`)
	return ns
}

// churnRBAC grants Spaces to viewers (users and groups) with RoleBindings and revokes them,
// and now and then lets one viewer list every namespace.
func (r *run) churnRBAC(ctx context.Context, rnd *rand.Rand) {
	rbac := r.admin.kube.RbacV1()
	gone := func(err error) bool {
		return apierrors.IsNotFound(err) || apierrors.IsAlreadyExists(err) ||
			apierrors.IsForbidden(err) && strings.Contains(err.Error(), "being terminated")
	}
	for sleep(ctx, jitter(rnd, 300*time.Millisecond, 1000*time.Millisecond)) {
		t := r.tenants[rnd.IntN(len(r.tenants))]
		ns := t.randomSpace(rnd)
		r.pausable(func() {
			switch n := rnd.IntN(20); {
			case n == 0:
				name := r.nsLister()
				_, err := rbac.ClusterRoleBindings().Get(ctx, name, metav1.GetOptions{})
				if apierrors.IsNotFound(err) {
					_, err = rbac.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
						ObjectMeta: metav1.ObjectMeta{Name: name},
						RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name},
						Subjects:   []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: r.viewers[0].User}},
					}, metav1.CreateOptions{})
					r.stats.record(ctx, "grant namespace list", err, gone)
					return
				}
				if r.stats.record(ctx, "get clusterrolebinding", err, nil) == nil {
					err = rbac.ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{})
					r.stats.record(ctx, "revoke namespace list", err, gone)
				}
			case ns == "":
			case n < 12:
				v := r.viewers[rnd.IntN(len(r.viewers))]
				subject := rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: v.User}
				if rnd.IntN(3) == 0 {
					subject = rbacv1.Subject{Kind: "Group", APIGroup: rbacv1.GroupName, Name: v.Groups[0]}
				}
				_, err := rbac.RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{
					ObjectMeta: metav1.ObjectMeta{Name: "soak-view-" + strings.ToLower(subject.Kind) + "-" + subject.Name,
						Labels: map[string]string{runLabel: r.cfg.Prefix}},
					RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"},
					Subjects: []rbacv1.Subject{subject},
				}, metav1.CreateOptions{})
				r.stats.record(ctx, "grant space", err, gone)
			default:
				list, err := rbac.RoleBindings(ns).List(ctx, metav1.ListOptions{LabelSelector: runLabel})
				if r.stats.record(ctx, "list rolebindings", err, gone) != nil || len(list.Items) == 0 {
					return
				}
				err = rbac.RoleBindings(ns).Delete(ctx, list.Items[rnd.IntN(len(list.Items))].Name, metav1.DeleteOptions{})
				r.stats.record(ctx, "revoke space", err, gone)
			}
		})
	}
}

// churnTemplate changes the Template every 15 to 25 seconds; every Space's TemplateInstance
// follows it (sync).
func (r *run) churnTemplate(ctx context.Context, rnd *rand.Rand) {
	templates := r.admin.kiosk.ConfigV1alpha1().Templates()
	for sleep(ctx, jitter(rnd, 15*time.Second, 25*time.Second)) {
		r.pausable(func() {
			tpl, err := templates.Get(ctx, r.template(), metav1.GetOptions{})
			if r.stats.record(ctx, "get template", err, nil) != nil {
				return
			}
			r.mu.Lock()
			next := r.templateVersion + 1
			r.mu.Unlock()
			tpl.Resources = r.templateObject(next).Resources
			_, err = templates.Update(ctx, tpl, metav1.UpdateOptions{})
			if r.stats.record(ctx, "update template", err, apierrors.IsConflict) == nil {
				r.mu.Lock()
				r.templateVersion = next
				r.mu.Unlock()
			}
		})
	}
}

// stats counts requests by operation.
type stats struct {
	mu  sync.Mutex
	ops map[string]*OpStats
}

func newStats() *stats { return &stats{ops: map[string]*OpStats{}} }

// record counts one request of op and returns err. A refused answer (refused(err)) is the
// server's correct answer to a request it must turn down, not an error; an answer after the
// run's context ended is not counted.
func (s *stats) record(ctx context.Context, op string, err error, refused func(error) bool) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.ops[op]
	if o == nil {
		o = &OpStats{Op: op}
		s.ops[op] = o
	}
	o.Requests++
	switch {
	case err == nil:
	case refused != nil && refused(err):
		o.Refused++
	default:
		o.Errors++
		if len(o.Examples) < 3 && !slices.Contains(o.Examples, err.Error()) {
			o.Examples = append(o.Examples, err.Error())
		}
	}
	return err
}
