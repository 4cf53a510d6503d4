package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// identity is a user as kube-apiserver authenticates an impersonated request.
type identity struct {
	user   string
	groups []string
}

// Random RBAC states over 30 Spaces and 20 identities: after every change, the Spaces each
// identity lists through kube-apiserver must be exactly those SubjectAccessReview allows it
// to get (or all of them, for an identity allowed to list namespaces cluster-wide).
func TestSpacesMatchSubjectAccessReview(t *testing.T) {
	const (
		spaces  = 30
		changes = 200
	)
	ctx := context.Background()
	// SubjectAccessReviews are many and cheap: no client-side rate limit.
	cfg := cluster.Config(t)
	cfg.QPS = -1
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	kube := framework.NewClients(t, cfg).Kube
	run := framework.UniqueName("diff")
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	t.Logf("run %s", run)

	var namespaces []string
	for i := range spaces {
		name := fmt.Sprintf("%s-%02d", run, i)
		namespaces = append(namespaces, name)
		_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name: name, Labels: map[string]string{"kiosk.sh/account": run}}}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	var clusterRoles, clusterBindings []string
	t.Cleanup(func() {
		for _, ns := range namespaces {
			deleted(t, "Namespace "+ns, kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}))
		}
		for _, name := range clusterBindings {
			deleted(t, "ClusterRoleBinding "+name, kube.RbacV1().ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{}))
		}
		for _, name := range clusterRoles {
			deleted(t, "ClusterRole "+name, kube.RbacV1().ClusterRoles().Delete(ctx, name, metav1.DeleteOptions{}))
		}
	})

	groups := []string{run + "-g0", run + "-g1", run + "-g2", run + "-g3"}
	var ids []identity
	for i := range 17 {
		ids = append(ids, identity{user: fmt.Sprintf("%s-u%d", run, i), groups: []string{groups[i%len(groups)]}})
	}
	for _, ns := range namespaces[:3] {
		ids = append(ids, identity{user: "system:serviceaccount:" + ns + ":robot",
			groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns}})
	}

	g := &rbacGenerator{r: r, run: run, namespaces: namespaces, ids: ids, groups: groups}
	for i := range 4 {
		clusterRoles = append(clusterRoles, fmt.Sprintf("%s-cr%d", run, i))
	}
	for i := range 6 {
		clusterBindings = append(clusterBindings, fmt.Sprintf("%s-crb%d", run, i))
	}

	mismatches := 0
	for step := range changes {
		what := g.change(ctx, t, kube)
		if !agreeEventually(ctx, t, kube, run, namespaces, ids, step, what) {
			mismatches++
		}
	}
	require.Zero(t, mismatches, "steps whose lists disagreed with SubjectAccessReview")
}

// agreeEventually compares every identity's Space list with SubjectAccessReview, allowing
// both kube-apiserver's authorizer and the access index a moment to see the change. An
// identity whose list agreed is not asked again in the same step.
func agreeEventually(ctx context.Context, t *testing.T, kube kubernetes.Interface, run string, namespaces []string, ids []identity, step int, what string) bool {
	t.Helper()
	pending := ids
	var diffs []string
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		pending, diffs = compareAll(ctx, t, kube, run, namespaces, pending)
		return len(pending) == 0, nil
	})
	if err != nil {
		t.Errorf("step %d (%s): %v: %s", step, what, err, strings.Join(diffs, "; "))
		return false
	}
	return true
}

// compareAll returns the identities whose Space list differs from what SubjectAccessReview
// allows them, and how. Every identity's reviews and list run at once, at most 32 requests
// in flight.
func compareAll(ctx context.Context, t *testing.T, kube kubernetes.Interface, run string, namespaces []string, ids []identity) ([]identity, []string) {
	var (
		mu    sync.Mutex
		wrong []identity
		diffs []string
		wg    sync.WaitGroup
	)
	sem := make(chan struct{}, 32)
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := allowedSpaces(ctx, t, kube, id, namespaces, sem)
			sem <- struct{}{}
			got := listedSpaces(ctx, t, id, run)
			<-sem
			if !slices.Equal(want, got) {
				mu.Lock()
				wrong = append(wrong, id)
				diffs = append(diffs, fmt.Sprintf("%s lists %v, SubjectAccessReview allows %v", id.user, got, want))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return wrong, diffs
}

func sar(ctx context.Context, t *testing.T, kube kubernetes.Interface, id identity, attrs authorizationv1.ResourceAttributes) bool {
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: id.user, Groups: append(slices.Clone(id.groups), "system:authenticated"), ResourceAttributes: &attrs}}
	out, err := kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
	require.NoError(t, err)
	return out.Status.Allowed
}

// allowedSpaces are the namespaces SubjectAccessReview lets id get (all of them when it may
// list namespaces), asked concurrently within sem.
func allowedSpaces(ctx context.Context, t *testing.T, kube kubernetes.Interface, id identity, namespaces []string, sem chan struct{}) []string {
	sem <- struct{}{}
	all := sar(ctx, t, kube, id, authorizationv1.ResourceAttributes{Verb: "list", Resource: "namespaces"})
	<-sem
	if all {
		return namespaces
	}
	allowed := make([]bool, len(namespaces))
	var wg sync.WaitGroup
	for i, ns := range namespaces {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			allowed[i] = sar(ctx, t, kube, id, authorizationv1.ResourceAttributes{Verb: "get", Resource: "namespaces", Name: ns, Namespace: ns})
		}()
	}
	wg.Wait()
	var out []string
	for i, ns := range namespaces {
		if allowed[i] {
			out = append(out, ns)
		}
	}
	return out
}

func listedSpaces(ctx context.Context, t *testing.T, id identity, run string) []string {
	clients := cluster.ClientsAs(t, id.user, id.groups...)
	list, err := clients.Kiosk.TenancyV1alpha1().Spaces().List(ctx, metav1.ListOptions{FieldSelector: "spec.account=" + run})
	require.NoError(t, err)
	var out []string
	for _, s := range list.Items {
		out = append(out, s.Name)
	}
	return out
}

// rbacGenerator makes random changes to ClusterRoles (wildcards, resourceNames, subresources),
// Roles, ClusterRoleBindings and RoleBindings, over few names so that changes collide.
type rbacGenerator struct {
	r          *rand.Rand
	run        string
	namespaces []string
	ids        []identity
	groups     []string
}

func (g *rbacGenerator) rules() []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	for range 1 + g.r.IntN(2) {
		rule := rbacv1.PolicyRule{
			Verbs:     []string{pick(g.r, []string{"get", "get", "get", "list", "*", "watch", "delete"})},
			APIGroups: []string{pick(g.r, []string{"", "", "", "*", "apps"})},
			Resources: []string{pick(g.r, []string{"namespaces", "namespaces", "namespaces", "*", "namespaces/status", "pods"})},
		}
		if g.r.IntN(3) == 0 {
			for range 1 + g.r.IntN(4) {
				rule.ResourceNames = append(rule.ResourceNames, pick(g.r, g.namespaces))
			}
		}
		rules = append(rules, rule)
	}
	return rules
}

func (g *rbacGenerator) subjects() []rbacv1.Subject {
	var subs []rbacv1.Subject
	for range 1 + g.r.IntN(3) {
		switch g.r.IntN(5) {
		case 0, 1:
			subs = append(subs, rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: pick(g.r, g.ids[:17]).user})
		case 2:
			subs = append(subs, rbacv1.Subject{Kind: "Group", APIGroup: rbacv1.GroupName, Name: pick(g.r, g.groups)})
		case 3:
			subs = append(subs, rbacv1.Subject{Kind: "ServiceAccount", Namespace: pick(g.r, g.namespaces[:3]), Name: "robot"})
		default:
			subs = append(subs, rbacv1.Subject{Kind: "Group", APIGroup: rbacv1.GroupName,
				Name: pick(g.r, []string{"system:serviceaccounts", "system:serviceaccounts:" + g.namespaces[0]})})
		}
	}
	return subs
}

// change applies one random change and says what it was.
func (g *rbacGenerator) change(ctx context.Context, t *testing.T, kube kubernetes.Interface) string {
	t.Helper()
	rbac := kube.RbacV1()
	ns := pick(g.r, g.namespaces)
	binding := fmt.Sprintf("b%d", g.r.IntN(4))
	var err error
	var what string
	switch g.r.IntN(10) {
	case 0, 1:
		name := fmt.Sprintf("%s-cr%d", g.run, g.r.IntN(4))
		what = "set ClusterRole " + name
		err = upsert(func() error {
			_, err := rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: g.rules()}, metav1.CreateOptions{})
			return err
		}, func() error {
			_, err := rbac.ClusterRoles().Update(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: g.rules()}, metav1.UpdateOptions{})
			return err
		})
	case 2:
		name := fmt.Sprintf("%s-cr%d", g.run, g.r.IntN(4))
		what = "delete ClusterRole " + name
		err = ignoreNotFound(rbac.ClusterRoles().Delete(ctx, name, metav1.DeleteOptions{}))
	case 3:
		name := fmt.Sprintf("r%d", g.r.IntN(2))
		what = "set Role " + ns + "/" + name
		role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Rules: g.rules()}
		err = upsert(func() error { _, err := rbac.Roles(ns).Create(ctx, role, metav1.CreateOptions{}); return err },
			func() error { _, err := rbac.Roles(ns).Update(ctx, role, metav1.UpdateOptions{}); return err })
	case 4:
		name := fmt.Sprintf("%s-crb%d", g.run, g.r.IntN(6))
		what = "recreate ClusterRoleBinding " + name
		crb := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Subjects: g.subjects(),
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: fmt.Sprintf("%s-cr%d", g.run, g.r.IntN(4))}}
		if err = ignoreNotFound(rbac.ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{})); err == nil {
			_, err = rbac.ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{})
		}
	case 5:
		name := fmt.Sprintf("%s-crb%d", g.run, g.r.IntN(6))
		what = "delete ClusterRoleBinding " + name
		err = ignoreNotFound(rbac.ClusterRoleBindings().Delete(ctx, name, metav1.DeleteOptions{}))
	case 6, 7, 8:
		what = "recreate RoleBinding " + ns + "/" + binding
		ref := rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: fmt.Sprintf("%s-cr%d", g.run, g.r.IntN(4))}
		if g.r.IntN(3) == 0 {
			ref.Kind, ref.Name = "Role", fmt.Sprintf("r%d", g.r.IntN(2))
		}
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: binding}, Subjects: g.subjects(), RoleRef: ref}
		if err = ignoreNotFound(rbac.RoleBindings(ns).Delete(ctx, binding, metav1.DeleteOptions{})); err == nil {
			_, err = rbac.RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{})
		}
	default:
		what = "delete RoleBinding " + ns + "/" + binding
		err = ignoreNotFound(rbac.RoleBindings(ns).Delete(ctx, binding, metav1.DeleteOptions{}))
	}
	require.NoError(t, err, what)
	return what
}

func upsert(create, update func() error) error {
	err := create()
	if apierrors.IsAlreadyExists(err) {
		return update()
	}
	return err
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// deleted fails the test when a cleanup's delete of what failed for another reason than that
// it is gone already or, for a Namespace, already being deleted.
func deleted(t testing.TB, what string, err error) {
	t.Helper()
	err = ignoreNotFound(err)
	if err == nil || apierrors.IsConflict(err) && strings.Contains(err.Error(), "all content is removed from this namespace") {
		return
	}
	t.Errorf("cleanup: deleting %s: %v", what, err)
}

func pick[T any](r *rand.Rand, from []T) T { return from[r.IntN(len(from))] }
