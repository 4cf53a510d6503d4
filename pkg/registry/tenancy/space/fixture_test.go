package space

import (
	"context"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access/accesstest"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	configfake "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned/fake"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy/tenancytest"
)

// cluster is kube-apiserver as the Space storage sees it: a fake clientset whose
// namespaces and RoleBindings feed a real access index, as the server's informers do, and
// a fake config.kiosk.sh clientset for mandatory TemplateInstances.
type cluster struct {
	kube     *fake.Clientset
	config   *configfake.Clientset
	index    *access.Index
	rv       accesstest.Revisions
	accounts accountMap
	released *released
	rest     *REST
}

// The users: alice is bound in team-a's Spaces, bob through his group in team-b's, eve
// nowhere; auditor may list namespaces cluster-wide (kube-apiserver says so) and root is
// bound cluster-wide (the access index knows it).
const (
	teamA = "team-a"
	teamB = "team-b"
)

var (
	alice   = tenancytest.As("alice", "system:authenticated")
	bob     = tenancytest.As("bob", teamB, "system:authenticated")
	eve     = tenancytest.As("eve", "system:authenticated")
	auditor = tenancytest.As("auditor", "system:authenticated")
	root    = tenancytest.As("root", "system:authenticated")
)

// seesAllSpaces is kube-apiserver allowing auditor to list namespaces.
var seesAllSpaces = tenancytest.Allow("list", "namespaces", "auditor")

// newCluster returns a cluster with the Spaces team-a-dev and team-a-prod of team-a and
// team-b-dev of team-b, and the Accounts given, whose kube-apiserver allows what policy
// allows.
func newCluster(t *testing.T, policy tenancytest.Policy, accounts ...*configv1alpha1.Account) *cluster {
	t.Helper()
	c := &cluster{kube: fake.NewClientset(), config: configfake.NewClientset(), index: access.New(access.Options{}), accounts: accountMap{}, released: &released{}}
	for _, a := range accounts {
		c.accounts[a.Name] = a
	}
	c.feed()
	c.index.UpsertClusterRole(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "admin", ResourceVersion: c.rv.Next()},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"*"}, APIGroups: []string{"*"}, Resources: []string{"*"}}}})
	c.index.UpsertClusterRole(&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "view", ResourceVersion: c.rv.Next()},
		Rules: []rbacv1.PolicyRule{{Verbs: []string{"get"}, APIGroups: []string{""}, Resources: []string{"namespaces"}}}})
	c.index.UpsertClusterRoleBinding(&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "root", ResourceVersion: c.rv.Next()},
		RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"}, Subjects: []rbacv1.Subject{accesstest.User("root")}})
	c.addSpace(t, "team-a-dev", teamA, map[string]string{"env": "dev"}, "admin", accesstest.User("alice"))
	c.addSpace(t, "team-a-prod", teamA, map[string]string{"env": "prod"}, "admin", accesstest.User("alice"))
	c.addSpace(t, "team-b-dev", teamB, map[string]string{"env": "dev"}, "view", accesstest.Group(teamB))
	c.index.MarkReady()
	c.rest = NewREST(c.index, tenancytest.Visibility(c.kube, c.index, policy), Writer{
		Kube: c.kube, Config: c.config, Accounts: c.accounts, Reservations: c.released, Enforced: func() bool { return true }})
	return c
}

// addSpace makes the namespace name of account with labels, and a RoleBinding in it of
// role to subjects.
func (c *cluster) addSpace(t *testing.T, name, account string, labels map[string]string, role string, subjects ...rbacv1.Subject) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{configv1alpha1.AccountLabel: account}}}
	for k, v := range labels {
		ns.Labels[k] = v
	}
	ctx := context.Background()
	if _, err := c.kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	rb := accesstest.RoleBinding(name, "access", "", role, subjects...)
	if _, err := c.kube.RbacV1().RoleBindings(name).Create(ctx, rb, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating RoleBinding in %s: %v", name, err)
	}
}

// feed has every change the fake clientset makes to namespaces and RoleBindings reach the
// access index at once, with increasing resourceVersions, as the server's informers would.
func (c *cluster) feed() {
	var mu sync.Mutex
	track := k8stesting.ObjectReaction(c.kube.Tracker())
	react := func(a k8stesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		if obj, ok := objectOf(a); ok {
			obj.(metav1.Object).SetResourceVersion(c.rv.Next())
		}
		handled, obj, err := track(a)
		if err != nil {
			return handled, obj, err
		}
		switch o := obj.(type) {
		case *corev1.Namespace:
			if _, ok := o.Labels[configv1alpha1.AccountLabel]; ok {
				c.index.UpsertSpace(o)
			}
		case *rbacv1.RoleBinding:
			c.index.UpsertRoleBinding(o)
		}
		if d, ok := a.(k8stesting.DeleteAction); ok && a.GetResource().Resource == "namespaces" {
			c.index.DeleteSpace(d.GetName(), c.rv.Next())
		}
		return handled, obj, err
	}
	for _, verb := range []string{"create", "update", "delete"} {
		for _, resource := range []string{"namespaces", "rolebindings"} {
			c.kube.PrependReactor(verb, resource, react)
		}
	}
}

func objectOf(a k8stesting.Action) (runtime.Object, bool) {
	switch a := a.(type) {
	case k8stesting.CreateAction:
		return a.GetObject(), true
	case k8stesting.UpdateAction:
		return a.GetObject(), true
	}
	return nil, false
}

// namespace returns the namespace name as kube holds it, or nil.
func (c *cluster) namespace(t *testing.T, name string) *corev1.Namespace {
	t.Helper()
	ns, err := c.kube.CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatalf("getting namespace %s: %v", name, err)
	}
	return ns
}

// accountMap serves Accounts as the config.kiosk.sh storage would.
type accountMap map[string]*configv1alpha1.Account

func (m accountMap) Get(_ context.Context, name string) (*configv1alpha1.Account, error) {
	a, ok := m[name]
	if !ok {
		return nil, apierrors.NewNotFound(schema.GroupResource{Group: "config.kiosk.sh", Resource: "accounts"}, name)
	}
	return a.DeepCopy(), nil
}

// released records the places taken and given back under Account limits, as
// "account/space"; it holds no limit itself: creator_test.go runs the real ledger.
type released struct {
	mu       sync.Mutex
	got      []string
	reserved []string
}

func (r *released) Reserve(_ context.Context, account, name string, _ int32, _ []string, dryRun bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !dryRun {
		r.reserved = append(r.reserved, account+"/"+name)
	}
	return nil
}

func (r *released) Release(_ context.Context, account, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, account+"/"+name)
	return nil
}

func (r *released) places() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}
