package account

import (
	"errors"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/controller/controllertest"
	configfake "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned/fake"
)

// running is a controller over fake clientsets whose informers have synced.
type running struct {
	*controllertest.Env
	c *Controller
}

// newRunning returns a controller over objs with started, synced informers. prepare
// installs reactors before anything is read.
func newRunning(t *testing.T, prepare func(*running), objs ...runtime.Object) *running {
	t.Helper()
	r := &running{Env: controllertest.NewEnv(objs...)}
	if prepare != nil {
		prepare(r)
	}
	cfg, core := r.ConfigInformers.Config().V1alpha1(), r.KubeInformers.Core().V1()
	c, err := New(r.Kube, r.Config, cfg.Accounts(), core.Namespaces(), r.KubeInformers.Rbac().V1().RoleBindings(), cfg.TemplateInstances(),
		r.KubeInformers.Networking().V1().NetworkPolicies())
	require.NoError(t, err)
	r.c = c
	r.Start(t)
	return r
}

func (r *running) run(t *testing.T) { controllertest.Run(t, r.Ctx, r.c.Run) }

// binding reads the Account's RoleBinding in namespace, nil when there is none.
func (r *running) binding(t require.TestingT, namespace string) *rbacv1.RoleBinding {
	rb, err := r.Kube.RbacV1().RoleBindings(namespace).Get(r.Ctx, "kiosk-account-acme", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	require.NoError(t, err)
	return rb
}

func (r *running) account(t require.TestingT) *configv1alpha1.Account {
	a, err := r.Config.ConfigV1alpha1().Accounts().Get(r.Ctx, "acme", metav1.GetOptions{})
	require.NoError(t, err)
	return a
}

// update changes the stored Account, as a client does: read, change, write, again on a
// Conflict with the controller's status writes.
func (r *running) update(t *testing.T, change func(*configv1alpha1.Account)) {
	t.Helper()
	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		a := r.account(t)
		change(a)
		_, err := r.Config.ConfigV1alpha1().Accounts().Update(r.Ctx, a, metav1.UpdateOptions{})
		return err
	}))
}

// waitBinding waits until the Account's RoleBinding in namespace passes check.
func (r *running) waitBinding(t *testing.T, namespace string, check func(c *assert.CollectT, rb *rbacv1.RoleBinding)) {
	t.Helper()
	controllertest.Eventually(t, func(c *assert.CollectT) { check(c, r.binding(c, namespace)) })
}

// waitCondition waits until the Account's SpacesBound condition has status and reason.
func (r *running) waitCondition(t *testing.T, status metav1.ConditionStatus, reason string) metav1.Condition {
	t.Helper()
	var cond metav1.Condition
	controllertest.Eventually(t, func(c *assert.CollectT) {
		got := meta.FindStatusCondition(r.account(c).Status.Conditions, ConditionSpacesBound)
		require.NotNil(c, got, "condition %s", ConditionSpacesBound)
		assert.Equal(c, status, got.Status, got.Message)
		assert.Equal(c, reason, got.Reason)
		cond = *got
	})
	return cond
}

var dev = rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "dev"}

// acme is Account acme, of user dev.
func acme() *configv1alpha1.Account {
	a := &configv1alpha1.Account{ObjectMeta: metav1.ObjectMeta{Name: "acme", Generation: 3}}
	a.Spec.Subjects = []rbacv1.Subject{dev}
	return a
}

// namespaceOf is namespace name, a Space of Account acme when labelled.
func namespaceOf(name string, labelled bool) *corev1.Namespace {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if labelled {
		ns.Labels = map[string]string{configv1alpha1.AccountLabel: "acme"}
	}
	return ns
}

func clusterRoleRef(name string) rbacv1.RoleRef {
	return rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}
}

func spaceNames(a *configv1alpha1.Account) []string {
	var names []string
	for _, n := range a.Status.Namespaces {
		names = append(names, n.Name)
	}
	return names
}

// Every live Space of an Account binds its subjects to spec.space.clusterRole, and follows
// changes of the subjects and of the role; status says which Spaces the Account has and
// that they are bound.
func TestRunBindsSpaces(t *testing.T) {
	gone := namespaceOf("gone", true)
	gone.Status.Phase = corev1.NamespaceTerminating
	r := newRunning(t, nil, acme(), namespaceOf("s1", true), namespaceOf("s2", true), gone, namespaceOf("other", false))
	r.run(t)

	cond := r.waitCondition(t, metav1.ConditionTrue, ReasonBound)
	assert.Equal(t, int64(3), cond.ObservedGeneration)
	assert.Equal(t, []string{"gone", "s1", "s2"}, spaceNames(r.account(t)))
	for _, ns := range []string{"s1", "s2"} {
		rb := r.binding(t, ns)
		require.NotNil(t, rb, "RoleBinding in %s", ns)
		assert.Equal(t, []rbacv1.Subject{dev}, rb.Subjects)
		assert.Equal(t, clusterRoleRef("admin"), rb.RoleRef)
		assert.Equal(t, "acme", rb.Labels[configv1alpha1.AccountLabel])
	}
	assert.Nil(t, r.binding(t, "gone"), "a Space being deleted is not bound")
	assert.Nil(t, r.binding(t, "other"), "a namespace of no Account is not bound")

	team := rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: "team"}
	r.update(t, func(a *configv1alpha1.Account) { a.Spec.Subjects = append(a.Spec.Subjects, team) })
	r.waitBinding(t, "s1", func(c *assert.CollectT, rb *rbacv1.RoleBinding) {
		require.NotNil(c, rb)
		assert.Equal(c, []rbacv1.Subject{dev, team}, rb.Subjects)
	})

	r.update(t, func(a *configv1alpha1.Account) { a.Spec.Space.ClusterRole = ptr.To("edit") })
	r.waitBinding(t, "s2", func(c *assert.CollectT, rb *rbacv1.RoleBinding) {
		require.NotNil(c, rb)
		assert.Equal(c, clusterRoleRef("edit"), rb.RoleRef)
		assert.Equal(c, []rbacv1.Subject{dev, team}, rb.Subjects)
	})

	r.update(t, func(a *configv1alpha1.Account) { a.Spec.Space.ClusterRole = ptr.To("") })
	for _, ns := range []string{"s1", "s2"} {
		r.waitBinding(t, ns, func(c *assert.CollectT, rb *rbacv1.RoleBinding) { assert.Nil(c, rb, "RoleBinding in %s", ns) })
	}
}

// A namespace labelled for an Account by other means than a Space create is adopted: its
// mandatory TemplateInstances are created, a RoleBinding of the Account's name made before
// is taken over, and status lists it. A namespace whose label goes leaves status.
func TestRunAdoptsNamespaces(t *testing.T) {
	account := acme()
	account.Spec.Space.TemplateInstances = []configv1alpha1.AccountTemplateInstanceTemplate{{
		Spec: configv1alpha1.TemplateInstanceSpec{Template: "limits"}}}
	earlier := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "migrated", Name: "kiosk-account-acme"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "someone-else"}},
		RoleRef:  clusterRoleRef("admin")}
	r := newRunning(t, nil, account, earlier, namespaceOf("migrated", false))
	r.run(t)

	ns, err := r.Kube.CoreV1().Namespaces().Create(r.Ctx, namespaceOf("gitops", true), metav1.CreateOptions{})
	require.NoError(t, err)
	r.waitBinding(t, ns.Name, func(c *assert.CollectT, rb *rbacv1.RoleBinding) {
		require.NotNil(c, rb)
		assert.Equal(c, []rbacv1.Subject{dev}, rb.Subjects)
	})
	ti, err := r.Config.ConfigV1alpha1().TemplateInstances("gitops").Get(r.Ctx, "limits", metav1.GetOptions{})
	require.NoError(t, err, "the mandatory instance is created in an adopted Space")
	assert.Equal(t, "true", ti.Annotations[configv1alpha1.MandatoryAnnotation])

	_, err = r.Kube.CoreV1().Namespaces().Update(r.Ctx, namespaceOf("migrated", true), metav1.UpdateOptions{})
	require.NoError(t, err)
	r.waitBinding(t, "migrated", func(c *assert.CollectT, rb *rbacv1.RoleBinding) {
		require.NotNil(c, rb)
		assert.Equal(c, []rbacv1.Subject{dev}, rb.Subjects)
		assert.Equal(c, "acme", rb.Labels[configv1alpha1.AccountLabel])
	})
	controllertest.Eventually(t, func(c *assert.CollectT) {
		assert.Equal(c, []string{"gitops", "migrated"}, spaceNames(r.account(c)))
	})

	_, err = r.Kube.CoreV1().Namespaces().Update(r.Ctx, namespaceOf("gitops", false), metav1.UpdateOptions{})
	require.NoError(t, err)
	controllertest.Eventually(t, func(c *assert.CollectT) {
		assert.Equal(c, []string{"migrated"}, spaceNames(r.account(c)))
	})
}

// Deleting an Account removes its users' access to its Spaces; the namespaces stay.
func TestRunRemovesBindingsOfDeletedAccount(t *testing.T) {
	r := newRunning(t, nil, acme(), namespaceOf("s1", true))
	r.run(t)
	r.waitBinding(t, "s1", func(c *assert.CollectT, rb *rbacv1.RoleBinding) { assert.NotNil(c, rb) })

	require.NoError(t, r.Config.ConfigV1alpha1().Accounts().Delete(r.Ctx, "acme", metav1.DeleteOptions{}))
	r.waitBinding(t, "s1", func(c *assert.CollectT, rb *rbacv1.RoleBinding) { assert.Nil(c, rb) })
	_, err := r.Kube.CoreV1().Namespaces().Get(r.Ctx, "s1", metav1.GetOptions{})
	assert.NoError(t, err)
}

// A binding that cannot be created sets SpacesBound to False with the reason, and the
// Space is bound, and the condition True again, once the cause is gone, with no change
// to the Account.
func TestRunReportsUnboundSpaces(t *testing.T) {
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: rbacv1.GroupName, Resource: "rolebindings"}, "kiosk-account-acme",
		errors.New("user \"system:serviceaccount:kiosk:tenancy-apiserver\" is attempting to grant RBAC permissions not currently held"))
	for _, tc := range []struct {
		name    string
		err     error
		reason  string
		message string
	}{
		{name: "forbidden", err: forbidden, reason: ReasonBindingForbidden,
			message: `tenancy-apiserver may not bind ClusterRole "cluster-admin" (spec.space.clusterRole) in 1 Spaces (s1): `},
		{name: "server error", err: apierrors.NewInternalError(errors.New("etcd is restarting")), reason: ReasonBindingFailed,
			message: "1 Spaces (s1) lack the RoleBinding kiosk-account-acme: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var failing atomic.Bool
			failing.Store(true)
			account := acme()
			account.Spec.Space.ClusterRole = ptr.To("cluster-admin")
			r := newRunning(t, func(r *running) {
				r.Kube.PrependReactor("create", "rolebindings", func(clienttesting.Action) (bool, runtime.Object, error) {
					if failing.Load() {
						return true, nil, tc.err
					}
					return false, nil, nil
				})
			}, account, namespaceOf("s1", true))
			r.run(t)

			cond := r.waitCondition(t, metav1.ConditionFalse, tc.reason)
			assert.Contains(t, cond.Message, tc.message)
			assert.Contains(t, cond.Message, tc.err.Error())
			assert.Nil(t, r.binding(t, "s1"))

			failing.Store(false)
			r.waitCondition(t, metav1.ConditionTrue, ReasonBound)
			assert.Equal(t, clusterRoleRef("cluster-admin"), r.binding(t, "s1").RoleRef)
		})
	}
}

// An Account without Spaces is not written to; one with Spaces is written once, and not
// again while nothing changes.
func TestSyncWritesStatusOnlyOnChange(t *testing.T) {
	for _, tc := range []struct {
		name   string
		spaces []runtime.Object
		writes int
	}{
		{name: "no Spaces", writes: 0},
		{name: "one Space", spaces: []runtime.Object{namespaceOf("s1", true)}, writes: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRunning(t, nil, append([]runtime.Object{acme()}, tc.spaces...)...)
			require.NoError(t, r.c.Sync(r.Ctx, "acme"))
			assert.Equal(t, tc.writes, statusWrites(r.Config))
			if tc.writes == 0 {
				return
			}
			// Once the caches have the status and the binding, syncing again writes nothing.
			stored := r.account(t)
			controllertest.Eventually(t, func(c *assert.CollectT) {
				a, err := r.c.accounts.Get("acme")
				require.NoError(c, err)
				assert.Equal(c, stored.ResourceVersion, a.ResourceVersion)
				_, err = r.c.bindings.RoleBindings("s1").Get("kiosk-account-acme")
				assert.NoError(c, err)
			})
			require.NoError(t, r.c.Sync(r.Ctx, "acme"))
			assert.Equal(t, tc.writes, statusWrites(r.Config))
		})
	}
}

func statusWrites(config *configfake.Clientset) int {
	n := 0
	for _, a := range config.Actions() {
		if a.GetVerb() == "update" && a.GetResource().Resource == "accounts" && a.GetSubresource() == "status" {
			n++
		}
	}
	return n
}
