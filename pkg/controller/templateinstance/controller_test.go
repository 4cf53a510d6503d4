package templateinstance

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/util/retry"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/controller/controllertest"
	configfake "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned/fake"
)

// running is a controller over fake clientsets whose informers have synced.
type running struct {
	*controllertest.Env
	c   *Controller
	dyn *dynamicfake.FakeDynamicClient
}

// newRunning returns a controller over objs with started, synced informers. prepare
// installs reactors before anything is read.
func newRunning(t *testing.T, prepare func(*running), objs ...runtime.Object) *running {
	t.Helper()
	r := &running{Env: controllertest.NewEnv(objs...)}
	r.dyn = controllertest.Dynamic(r.Kube)
	if prepare != nil {
		prepare(r)
	}
	cfg := r.ConfigInformers.Config().V1alpha1()
	c, err := New(r.Config, r.Kube, r.dyn, controllertest.NewMapper(), nil,
		cfg.TemplateInstances(), cfg.Templates(), cfg.Accounts(), r.KubeInformers.Core().V1().Namespaces())
	require.NoError(t, err)
	r.c = c
	r.Start(t)
	return r
}

func (r *running) run(t *testing.T) { controllertest.Run(t, r.Ctx, r.c.Run) }

func (r *running) instance(t *testing.T, name string) *configv1alpha1.TemplateInstance {
	t.Helper()
	ti, err := r.Config.ConfigV1alpha1().TemplateInstances("space").Get(r.Ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	return ti
}

// waitStatus waits until instance name reports status and reason.
func (r *running) waitStatus(t *testing.T, name string, status configv1alpha1.TemplateInstanceDeploymentStatus, reason string) *configv1alpha1.TemplateInstance {
	t.Helper()
	var ti *configv1alpha1.TemplateInstance
	controllertest.Eventually(t, func(c *assert.CollectT) {
		var err error
		ti, err = r.Config.ConfigV1alpha1().TemplateInstances("space").Get(r.Ctx, name, metav1.GetOptions{})
		require.NoError(c, err)
		assert.Equal(c, status, ti.Status.Status, "status of %s: %s", name, ti.Status.Message)
		assert.Equal(c, reason, ti.Status.Reason)
	})
	return ti
}

func (r *running) template(t *testing.T, name string) *configv1alpha1.Template {
	t.Helper()
	tmpl, err := r.Config.ConfigV1alpha1().Templates().Get(r.Ctx, name, metav1.GetOptions{})
	require.NoError(t, err)
	return tmpl
}

// configMap reads ConfigMap name in the Space, nil when there is none.
func (r *running) configMap(t *testing.T, name string) *corev1.ConfigMap {
	t.Helper()
	cm, err := r.Kube.CoreV1().ConfigMaps("space").Get(r.Ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	require.NoError(t, err)
	return cm
}

// waitTemplate waits until the controller's cache holds Template name at resourceVersion.
func (r *running) waitTemplate(t *testing.T, name, resourceVersion string) {
	t.Helper()
	controllertest.Eventually(t, func(c *assert.CollectT) {
		tmpl, err := r.c.templates.Get(name)
		require.NoError(c, err)
		assert.Equal(c, resourceVersion, tmpl.ResourceVersion)
	})
}

func space() *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "space", Labels: map[string]string{configv1alpha1.AccountLabel: "acme"}}}
}

// manifest is obj as a Template's manifest.
func manifest(t *testing.T, obj map[string]interface{}) runtime.RawExtension {
	t.Helper()
	raw, err := json.Marshal(obj)
	require.NoError(t, err)
	return runtime.RawExtension{Raw: raw}
}

// configMapManifest is a ConfigMap whose key value is ${VALUE}.
func configMapManifest(t *testing.T, name string) runtime.RawExtension {
	return manifest(t, map[string]interface{}{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]interface{}{"name": name}, "data": map[string]interface{}{"value": "${VALUE}"}})
}

// tmplOf is Template name with the given manifests and a parameter VALUE.
func tmplOf(name string, manifests ...runtime.RawExtension) *configv1alpha1.Template {
	return &configv1alpha1.Template{ObjectMeta: metav1.ObjectMeta{Name: name},
		Resources:  configv1alpha1.TemplateResources{Manifests: manifests},
		Parameters: []configv1alpha1.TemplateParameter{{Name: "VALUE", Value: "default"}}}
}

// instanceOf is TemplateInstance name in the Space of Template tmpl, created by user dev.
func instanceOf(name, tmpl string, uid types.UID, params ...configv1alpha1.TemplateInstanceParameter) *configv1alpha1.TemplateInstance {
	return &configv1alpha1.TemplateInstance{
		ObjectMeta: metav1.ObjectMeta{Namespace: "space", Name: name, UID: uid,
			Annotations: map[string]string{configv1alpha1.RequesterAnnotation: `{"username":"dev","groups":["team"]}`}},
		Spec: configv1alpha1.TemplateInstanceSpec{Template: tmpl, Parameters: params},
	}
}

func appliedConfigMap(name string) configv1alpha1.AppliedObject {
	return configv1alpha1.AppliedObject{APIVersion: "v1", Kind: "ConfigMap", Namespace: "space", Name: name}
}

// A new instance gets the finalizer, its Template is applied with server-side apply under
// the instance's own field manager, and its status records what was applied.
func TestRunAppliesTemplate(t *testing.T) {
	r := newRunning(t, nil, space(), tmplOf("settings", configMapManifest(t, "a"), configMapManifest(t, "b")),
		instanceOf("ti", "settings", "uid-ti", configv1alpha1.TemplateInstanceParameter{Name: "VALUE", Value: "42"}))
	r.run(t)

	ti := r.waitStatus(t, "ti", configv1alpha1.TemplateInstanceStatusDeployed, "Deployed")
	assert.Equal(t, []string{Finalizer}, ti.Finalizers)
	assert.Equal(t, "applied 2 objects", ti.Status.Message)
	assert.Equal(t, []configv1alpha1.AppliedObject{appliedConfigMap("a"), appliedConfigMap("b")}, ti.Status.AppliedObjects)
	assert.Equal(t, controllertest.InitialResourceVersion, ti.Status.TemplateResourceVersion)
	require.NotNil(t, ti.Status.LastAppliedAt)
	for _, name := range []string{"a", "b"} {
		cm := r.configMap(t, name)
		require.NotNil(t, cm, "ConfigMap %s", name)
		assert.Equal(t, map[string]string{"value": "42"}, cm.Data)
		require.Len(t, cm.ManagedFields, 1)
		assert.Equal(t, "tenancy-apiserver/space/ti/uid-ti", cm.ManagedFields[0].Manager)
		assert.Equal(t, metav1.ManagedFieldsOperationApply, cm.ManagedFields[0].Operation)
	}
}

// statusWrites records the status writes of TemplateInstances and, as kube-apiserver does,
// stores nothing (and so sends no event) for a write that changes nothing.
type statusWrites struct {
	config *configfake.Clientset
	mu     sync.Mutex
	seen   []string
}

func (s *statusWrites) react(action clienttesting.Action) (bool, runtime.Object, error) {
	if action.GetSubresource() != "status" {
		return false, nil, nil
	}
	ti := action.(clienttesting.UpdateAction).GetObject().(*configv1alpha1.TemplateInstance)
	s.mu.Lock()
	s.seen = append(s.seen, ti.Status.Reason)
	s.mu.Unlock()
	stored, err := s.config.Tracker().Get(action.GetResource(), ti.Namespace, ti.Name)
	if err != nil {
		return true, nil, err
	}
	have := stored.(*configv1alpha1.TemplateInstance)
	if equality.Semantic.DeepEqual(have.Status, ti.Status) {
		return true, have, nil
	}
	return false, nil, nil
}

func (s *statusWrites) reasons() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

// failingApplies fails the first n applies with a server error, and records when each
// apply came.
type failingApplies struct {
	n     int
	mu    sync.Mutex
	times []time.Time
}

func (f *failingApplies) react(action clienttesting.Action) (bool, runtime.Object, error) {
	if action.(clienttesting.PatchAction).GetPatchType() != types.ApplyPatchType {
		return false, nil, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.times = append(f.times, time.Now())
	if len(f.times) <= f.n {
		return true, nil, apierrors.NewInternalError(errors.New("etcd is restarting"))
	}
	return false, nil, nil
}

// A failed apply is reported in the status and retried with growing delays, without any
// change to the instance or its Template, until it succeeds.
func TestRunRetriesFailedApplyWithBackoff(t *testing.T) {
	const failures = 7
	applies := &failingApplies{n: failures}
	writes := &statusWrites{}
	r := newRunning(t, func(r *running) {
		writes.config = r.Config
		r.Config.PrependReactor("update", "templateinstances", writes.react)
		r.dyn.PrependReactor("patch", "configmaps", applies.react)
	}, space(), tmplOf("settings", configMapManifest(t, "a")), instanceOf("ti", "settings", "uid-ti"))
	r.run(t)

	r.waitStatus(t, "ti", configv1alpha1.TemplateInstanceStatusDeployed, "Deployed")
	assert.Equal(t, map[string]string{"value": "default"}, r.configMap(t, "a").Data)
	reasons := writes.reasons()
	require.NotEmpty(t, reasons)
	assert.Equal(t, "ApplyFailed", reasons[0])
	assert.Equal(t, "Deployed", reasons[len(reasons)-1])

	applies.mu.Lock()
	defer applies.mu.Unlock()
	require.Len(t, applies.times, failures+1)
	// The queue waits 5ms, doubled at each failure; the first failure's own status write
	// may bring one retry early. So the last retry waited at least 5ms·2^(failures-3).
	last := applies.times[failures].Sub(applies.times[failures-1])
	assert.GreaterOrEqual(t, last, 5*time.Millisecond<<(failures-3), "retries came at %v", applies.times)
}

// A Template that cannot be rendered fails the instance with the reason, and the instance
// recovers when the Template is fixed.
func TestRunReportsMissingTemplate(t *testing.T) {
	r := newRunning(t, nil, space(), instanceOf("ti", "settings", "uid-ti"))
	r.run(t)
	ti := r.waitStatus(t, "ti", configv1alpha1.TemplateInstanceStatusFailed, "TemplateNotFound")
	assert.Equal(t, "template settings does not exist", ti.Status.Message)
	assert.Nil(t, r.configMap(t, "a"))

	_, err := r.Config.ConfigV1alpha1().Templates().Create(r.Ctx, tmplOf("settings", configMapManifest(t, "a")), metav1.CreateOptions{})
	require.NoError(t, err)
	r.waitStatus(t, "ti", configv1alpha1.TemplateInstanceStatusDeployed, "Deployed")
	assert.NotNil(t, r.configMap(t, "a"))
}

// An instance with spec.sync follows a changed Template: it applies what the Template has
// and deletes what the Template dropped. One without it keeps what it applied.
func TestSyncFollowsTemplate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sync     bool
		wantA    string // ConfigMap a's value after the sync
		wantB    bool   // ConfigMap b still exists
		wantSeen []configv1alpha1.AppliedObject
	}{
		{name: "sync: applied again, dropped object pruned", sync: true, wantA: "new",
			wantSeen: []configv1alpha1.AppliedObject{appliedConfigMap("a")}},
		{name: "no sync: left as applied", sync: false, wantA: "old", wantB: true,
			wantSeen: []configv1alpha1.AppliedObject{appliedConfigMap("a"), appliedConfigMap("b")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ti := instanceOf("ti", "settings", "uid-ti", configv1alpha1.TemplateInstanceParameter{Name: "VALUE", Value: "new"})
			ti.Spec.Sync = tc.sync
			ti.Finalizers = []string{Finalizer}
			ti.Status = configv1alpha1.TemplateInstanceStatus{Status: configv1alpha1.TemplateInstanceStatusDeployed, Reason: "Deployed",
				TemplateResourceVersion: controllertest.InitialResourceVersion, AppliedObjects: []configv1alpha1.AppliedObject{appliedConfigMap("a"), appliedConfigMap("b")}}
			old := func(name string) *corev1.ConfigMap {
				return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "space", Name: name,
					ManagedFields: appliedFields(ti)}, Data: map[string]string{"value": "old"}}
			}
			r := newRunning(t, nil, space(), ti, old("a"), old("b"),
				tmplOf("settings", configMapManifest(t, "a"), configMapManifest(t, "b")))
			// The Template changed since the instance applied it: b dropped.
			tmpl := r.template(t, "settings")
			tmpl.Resources.Manifests = tmpl.Resources.Manifests[:1]
			tmpl, err := r.Config.ConfigV1alpha1().Templates().Update(r.Ctx, tmpl, metav1.UpdateOptions{})
			require.NoError(t, err)
			r.waitTemplate(t, "settings", tmpl.ResourceVersion)

			require.NoError(t, r.c.Sync(r.Ctx, "space/ti"))

			assert.Equal(t, tc.wantA, r.configMap(t, "a").Data["value"])
			assert.Equal(t, tc.wantB, r.configMap(t, "b") != nil, "ConfigMap b exists")
			got := r.instance(t, "ti")
			assert.Equal(t, tc.wantSeen, got.Status.AppliedObjects)
			assert.Equal(t, configv1alpha1.TemplateInstanceStatusDeployed, got.Status.Status)
		})
	}
}

// A running controller follows a Template change for instances with spec.sync.
func TestRunFollowsTemplateChange(t *testing.T) {
	ti := instanceOf("ti", "settings", "uid-ti")
	ti.Spec.Sync = true
	r := newRunning(t, nil, space(), ti, tmplOf("settings", configMapManifest(t, "a"), configMapManifest(t, "b")))
	r.run(t)
	r.waitStatus(t, "ti", configv1alpha1.TemplateInstanceStatusDeployed, "Deployed")
	require.NotNil(t, r.configMap(t, "b"))

	require.NoError(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		tmpl := r.template(t, "settings")
		tmpl.Resources.Manifests = tmpl.Resources.Manifests[:1]
		tmpl.Parameters[0].Value = "changed"
		_, err := r.Config.ConfigV1alpha1().Templates().Update(r.Ctx, tmpl, metav1.UpdateOptions{})
		return err
	}))
	tmpl := r.template(t, "settings")
	controllertest.Eventually(t, func(c *assert.CollectT) {
		got, err := r.Config.ConfigV1alpha1().TemplateInstances("space").Get(r.Ctx, "ti", metav1.GetOptions{})
		require.NoError(c, err)
		assert.Equal(c, tmpl.ResourceVersion, got.Status.TemplateResourceVersion)
	})
	assert.Nil(t, r.configMap(t, "b"), "ConfigMap b, dropped from the Template")
	assert.Equal(t, "changed", r.configMap(t, "a").Data["value"])
	assert.Equal(t, []configv1alpha1.AppliedObject{appliedConfigMap("a")}, r.instance(t, "ti").Status.AppliedObjects)
}

// Deleting an instance deletes the objects it created, except those marked to stay, those
// replaced since, and those another instance owns; then the finalizer lets it go.
func TestRunCleansUpOnDelete(t *testing.T) {
	otherOwner := instanceOf("other", "settings", "uid-other")
	otherOwner.Status.AppliedObjects = []configv1alpha1.AppliedObject{appliedConfigMap("shared")}
	for _, tc := range []struct {
		name       string
		noOwner    bool
		applied    configv1alpha1.AppliedObject
		others     []runtime.Object
		notApplied bool
		wantKept   bool
	}{
		{name: "created by the instance: deleted", applied: appliedConfigMap("a")},
		{name: "no-owner annotation: kept", noOwner: true, applied: appliedConfigMap("a"), wantKept: true},
		{name: "replaced since: kept", applied: func() configv1alpha1.AppliedObject {
			o := appliedConfigMap("a")
			o.UID = "uid-of-an-earlier-a"
			return o
		}(), wantKept: true},
		{name: "owned by another instance too: kept", applied: appliedConfigMap("shared"), others: []runtime.Object{otherOwner}, wantKept: true},
		{name: "listed in status but never applied by the instance: kept", applied: appliedConfigMap("a"), notApplied: true, wantKept: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := metav1.Now()
			ti := instanceOf("ti", "settings", "uid-ti")
			ti.DeletionTimestamp = &now
			ti.Finalizers = []string{Finalizer, "example.com/keep"}
			ti.Status = configv1alpha1.TemplateInstanceStatus{Status: configv1alpha1.TemplateInstanceStatusDeployed,
				AppliedObjects: []configv1alpha1.AppliedObject{tc.applied}}
			if tc.noOwner {
				ti.Annotations[configv1alpha1.NoOwnerAnnotation] = "true"
			}
			live := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "space", Name: tc.applied.Name, UID: "uid-a"}}
			if !tc.notApplied {
				live.ManagedFields = appliedFields(ti)
			}
			r := newRunning(t, nil, append([]runtime.Object{space(), ti, live}, tc.others...)...)
			r.run(t)

			controllertest.Eventually(t, func(c *assert.CollectT) {
				got, err := r.Config.ConfigV1alpha1().TemplateInstances("space").Get(r.Ctx, "ti", metav1.GetOptions{})
				require.NoError(c, err)
				assert.Equal(c, []string{"example.com/keep"}, got.Finalizers)
			})
			assert.Equal(t, tc.wantKept, r.configMap(t, tc.applied.Name) != nil, "ConfigMap %s kept", tc.applied.Name)
		})
	}
}

// An instance whose Template has an object another instance applied fails with Conflict,
// leaves the object as the owner applied it, and says so in a Warning event.
func TestRunRefusesAnotherInstancesObject(t *testing.T) {
	other := tmplOf("other", configMapManifest(t, "a"))
	r := newRunning(t, nil, space(), tmplOf("settings", configMapManifest(t, "a")), other,
		instanceOf("first", "settings", "uid-first", configv1alpha1.TemplateInstanceParameter{Name: "VALUE", Value: "first"}))
	r.run(t)
	r.waitStatus(t, "first", configv1alpha1.TemplateInstanceStatusDeployed, "Deployed")

	_, err := r.Config.ConfigV1alpha1().TemplateInstances("space").Create(r.Ctx,
		instanceOf("second", "other", "uid-second", configv1alpha1.TemplateInstanceParameter{Name: "VALUE", Value: "second"}), metav1.CreateOptions{})
	require.NoError(t, err)
	ti := r.waitStatus(t, "second", configv1alpha1.TemplateInstanceStatusFailed, configv1alpha1.ReasonConflict)
	assert.Equal(t, "ConfigMap a in namespace space belongs to template instance space/first; an object is applied by one template instance only",
		ti.Status.Message)
	assert.Equal(t, "first", r.configMap(t, "a").Data["value"])

	controllertest.Eventually(t, func(c *assert.CollectT) {
		events, err := r.Kube.EventsV1().Events("space").List(r.Ctx, metav1.ListOptions{})
		require.NoError(c, err)
		var reasons []string
		for _, e := range events.Items {
			if e.Regarding.Name == "second" && e.Type == corev1.EventTypeWarning {
				reasons = append(reasons, e.Reason)
			}
		}
		assert.Contains(c, reasons, configv1alpha1.ReasonConflict)
	})
}

// A binding in a Template is applied only if the instance's requester may bind its role;
// otherwise the instance fails with Forbidden and the binding is not created.
// Mandatory instances are the Account's and are not checked.
func TestRunChecksRequesterForBindings(t *testing.T) {
	rb := manifest(t, map[string]interface{}{"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
		"metadata": map[string]interface{}{"name": "admins"},
		"roleRef":  map[string]interface{}{"apiGroup": rbacv1.GroupName, "kind": "ClusterRole", "name": "admin"},
		"subjects": []interface{}{map[string]interface{}{"apiGroup": rbacv1.GroupName, "kind": "User", "name": "dev"}}})
	for _, tc := range []struct {
		name      string
		mandatory bool
		mayBind   bool
		status    configv1alpha1.TemplateInstanceDeploymentStatus
		reason    string
		asked     bool
	}{
		{name: "requester may bind", mayBind: true, status: configv1alpha1.TemplateInstanceStatusDeployed, reason: "Deployed", asked: true},
		{name: "requester may not bind", status: configv1alpha1.TemplateInstanceStatusFailed, reason: ReasonForbidden, asked: true},
		{name: "mandatory instance", mandatory: true, status: configv1alpha1.TemplateInstanceStatusDeployed, reason: "Deployed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var asked []authorizationv1.SubjectAccessReviewSpec
			ti := instanceOf("ti", "admins", "uid-ti")
			if tc.mandatory {
				ti.Annotations[configv1alpha1.MandatoryAnnotation] = "true"
			}
			r := newRunning(t, func(r *running) {
				r.Kube.PrependReactor("create", "subjectaccessreviews", func(action clienttesting.Action) (bool, runtime.Object, error) {
					sar := action.(clienttesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview).DeepCopy()
					mu.Lock()
					asked = append(asked, sar.Spec)
					mu.Unlock()
					a := sar.Spec.ResourceAttributes
					sar.Status.Allowed = tc.mayBind && sar.Spec.User == "dev" && a != nil && a.Verb == "bind" && a.Name == "admin"
					return true, sar, nil
				})
			}, space(), tmplOf("admins", rb), ti,
				&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "admin"},
					Rules: []rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"*"}}}})
			r.run(t)

			got := r.waitStatus(t, "ti", tc.status, tc.reason)
			_, err := r.Kube.RbacV1().RoleBindings("space").Get(r.Ctx, "admins", metav1.GetOptions{})
			if tc.status == configv1alpha1.TemplateInstanceStatusDeployed {
				require.NoError(t, err)
			} else {
				assert.True(t, apierrors.IsNotFound(err), "RoleBinding admins: %v", err)
				assert.Contains(t, got.Status.Message, `RoleBinding admins in namespace space binds ClusterRole admin, which user "dev"`)
			}
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, tc.asked, len(asked) > 0, "access reviews asked: %v", asked)
		})
	}
}

// appliedFields are the managed fields of an object that ti applied.
func appliedFields(ti *configv1alpha1.TemplateInstance) []metav1.ManagedFieldsEntry {
	return []metav1.ManagedFieldsEntry{{Manager: InstanceFieldManager(ti), Operation: metav1.ManagedFieldsOperationApply,
		APIVersion: "v1", FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:data":{}}`)}}}
}

// An object that exists and that the instance did not apply (an admin's, the server's, or
// the tenant's own) is applied over only by a mandatory instance, or when the instance's
// requester may patch it themselves.
func TestRunRefusesToTakeOverObjectsItDidNotApply(t *testing.T) {
	for _, tc := range []struct {
		name      string
		mandatory bool
		mayPatch  bool
		status    configv1alpha1.TemplateInstanceDeploymentStatus
		want      string
	}{
		{name: "requester may not patch it", status: configv1alpha1.TemplateInstanceStatusFailed, want: "admins"},
		{name: "requester may patch it", mayPatch: true, status: configv1alpha1.TemplateInstanceStatusDeployed, want: "default"},
		{name: "mandatory instance", mandatory: true, status: configv1alpha1.TemplateInstanceStatusDeployed, want: "default"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ti := instanceOf("ti", "settings", "uid-ti")
			if tc.mandatory {
				ti.Annotations[configv1alpha1.MandatoryAnnotation] = "true"
			}
			admins := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "space", Name: "a", UID: "uid-a",
				ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl-client-side-apply", Operation: metav1.ManagedFieldsOperationUpdate,
					APIVersion: "v1", FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:data":{}}`)}}}},
				Data: map[string]string{"value": "admins"}}
			r := newRunning(t, func(r *running) {
				r.Kube.PrependReactor("create", "subjectaccessreviews", func(action clienttesting.Action) (bool, runtime.Object, error) {
					sar := action.(clienttesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview).DeepCopy()
					a := sar.Spec.ResourceAttributes
					sar.Status.Allowed = tc.mayPatch && sar.Spec.User == "dev" && a != nil && a.Verb == "patch" &&
						a.Resource == "configmaps" && a.Namespace == "space" && a.Name == "a"
					return true, sar, nil
				})
			}, space(), tmplOf("settings", configMapManifest(t, "a")), ti, admins)
			r.run(t)

			got := r.waitStatus(t, "ti", tc.status, map[bool]string{true: "Deployed", false: ReasonForbidden}[tc.status == configv1alpha1.TemplateInstanceStatusDeployed])
			assert.Equal(t, tc.want, r.configMap(t, "a").Data["value"])
			if tc.status == configv1alpha1.TemplateInstanceStatusFailed {
				assert.Equal(t, `ConfigMap a in namespace space exists and was not applied by template instance space/ti, and user "dev", who requested it, may not patch it`, got.Status.Message)
			}
		})
	}
}
