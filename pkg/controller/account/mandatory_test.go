package account

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubeinformers "k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/accounts"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	configfake "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned/fake"
	configinformers "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/informers/externalversions"
)

// mandatoryAccount is Account "a" with one mandatory instance of Template "quota".
func mandatoryAccount() *configv1alpha1.Account {
	a := &configv1alpha1.Account{ObjectMeta: metav1.ObjectMeta{Name: "a"}}
	a.Spec.Space.TemplateInstances = []configv1alpha1.AccountTemplateInstanceTemplate{{
		Spec: configv1alpha1.TemplateInstanceSpec{Template: "quota",
			Parameters: []configv1alpha1.TemplateInstanceParameter{{Name: "PODS", Value: "3"}}},
	}}
	return a
}

func spaceOf(name string, terminating bool) *corev1.Namespace {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{configv1alpha1.AccountLabel: "a"}}}
	if terminating {
		now := metav1.Now()
		ns.DeletionTimestamp = &now
		ns.Status.Phase = corev1.NamespaceTerminating
	}
	return ns
}

// wanted is the instance Account a requires in ns, as it would be stored and deployed.
func wanted(ns string, mutate ...func(*configv1alpha1.TemplateInstance)) *configv1alpha1.TemplateInstance {
	ti := accounts.Mandatory(mandatoryAccount(), ns)[0]
	ti.UID = "uid-1"
	ti.Status.Status = configv1alpha1.TemplateInstanceStatusDeployed
	for _, m := range mutate {
		m(ti)
	}
	return ti
}

// fixture is a controller whose caches hold objs, and the fake config client it writes to.
func fixture(t *testing.T, objs ...runtime.Object) (*Controller, *configfake.Clientset) {
	t.Helper()
	var kubeObjs, configObjs []runtime.Object
	for _, o := range objs {
		if _, ok := o.(*corev1.Namespace); ok {
			kubeObjs = append(kubeObjs, o)
		} else {
			configObjs = append(configObjs, o)
		}
	}
	kube, config := kubefake.NewSimpleClientset(kubeObjs...), configfake.NewSimpleClientset(configObjs...)
	ki, ci := kubeinformers.NewSharedInformerFactory(kube, 0), configinformers.NewSharedInformerFactory(config, 0)
	accounts, instances := ci.Config().V1alpha1().Accounts(), ci.Config().V1alpha1().TemplateInstances()
	c, err := New(kube, config, accounts, ki.Core().V1().Namespaces(), ki.Rbac().V1().RoleBindings(), instances, ki.Networking().V1().NetworkPolicies())
	require.NoError(t, err)
	for _, o := range objs {
		switch o.(type) {
		case *corev1.Namespace:
			require.NoError(t, ki.Core().V1().Namespaces().Informer().GetIndexer().Add(o))
		case *configv1alpha1.Account:
			require.NoError(t, accounts.Informer().GetIndexer().Add(o))
		case *configv1alpha1.TemplateInstance:
			require.NoError(t, instances.Informer().GetIndexer().Add(o))
		}
	}
	return c, config
}

// instanceWrites lists the verbs (with subresource) of the TemplateInstance writes made.
func instanceWrites(config *configfake.Clientset) []string {
	var out []string
	for _, a := range config.Actions() {
		if a.GetResource().Resource != "templateinstances" || a.GetVerb() == "get" || a.GetVerb() == "list" || a.GetVerb() == "watch" {
			continue
		}
		v := a.GetVerb()
		if a.GetSubresource() != "" {
			v += "/" + a.GetSubresource()
		}
		out = append(out, v)
	}
	return out
}

func TestSyncKeepsMandatoryInstances(t *testing.T) {
	deleting := metav1.Now()
	tests := []struct {
		name       string
		space      *corev1.Namespace
		instance   *configv1alpha1.TemplateInstance // in the Space, or nil
		writes     []string
		wantStored *configv1alpha1.TemplateInstance // what is stored after Sync, or nil to skip
	}{
		{name: "missing: created", space: spaceOf("s", false), writes: []string{"create"},
			wantStored: accounts.Mandatory(mandatoryAccount(), "s")[0]},
		{name: "as the Account says: untouched", space: spaceOf("s", false), instance: wanted("s")},
		{name: "parameters changed: set back and applied again", space: spaceOf("s", false),
			instance: wanted("s", func(ti *configv1alpha1.TemplateInstance) { ti.Spec.Parameters[0].Value = "100" }),
			writes:   []string{"update", "update/status"},
			wantStored: wanted("s", func(ti *configv1alpha1.TemplateInstance) {
				ti.Status.Status, ti.Status.Reason = configv1alpha1.TemplateInstanceStatusPending, "SpecReset"
				ti.Status.Message = "spec reset to the Account's spec.space.templateInstances"
			})},
		{name: "sync and annotation changed, failed: set back, retried as it is", space: spaceOf("s", false),
			instance: wanted("s", func(ti *configv1alpha1.TemplateInstance) {
				ti.Spec.Sync = true
				ti.Annotations = nil
				ti.Status.Status = configv1alpha1.TemplateInstanceStatusFailed
			}),
			writes: []string{"update"},
			wantStored: wanted("s", func(ti *configv1alpha1.TemplateInstance) {
				ti.Status.Status = configv1alpha1.TemplateInstanceStatusFailed
			})},
		{name: "another template: deleted, to be created again", space: spaceOf("s", false),
			instance: wanted("s", func(ti *configv1alpha1.TemplateInstance) { ti.Spec.Template = "other" }),
			writes:   []string{"delete"}},
		{name: "being deleted: left to go", space: spaceOf("s", false),
			instance: wanted("s", func(ti *configv1alpha1.TemplateInstance) {
				ti.DeletionTimestamp = &deleting
				ti.Spec.Parameters = nil
			})},
		{name: "Space being deleted: left alone", space: spaceOf("s", true)},
		{name: "Space being deleted, drifted instance: left alone", space: spaceOf("s", true),
			instance: wanted("s", func(ti *configv1alpha1.TemplateInstance) { ti.Spec.Parameters = nil })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			objs := []runtime.Object{mandatoryAccount(), tc.space}
			if tc.instance != nil {
				objs = append(objs, tc.instance)
			}
			c, config := fixture(t, objs...)
			require.NoError(t, c.Sync(context.Background(), "a"))
			assert.Equal(t, tc.writes, instanceWrites(config))
			if tc.wantStored == nil {
				return
			}
			got, err := config.ConfigV1alpha1().TemplateInstances("s").Get(context.Background(), tc.wantStored.Name, metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, tc.wantStored.Spec, got.Spec)
			assert.Equal(t, tc.wantStored.Status, got.Status)
			assert.Equal(t, "true", got.Annotations[configv1alpha1.MandatoryAnnotation])
			assert.Equal(t, "a", got.Labels[configv1alpha1.AccountLabel])
		})
	}
}

func TestInstanceEventsQueueTheAccount(t *testing.T) {
	live, plain := wanted("live"), wanted("live", func(ti *configv1alpha1.TemplateInstance) { ti.Annotations = nil })
	statusOnly := wanted("live", func(ti *configv1alpha1.TemplateInstance) {
		ti.Status.Status = configv1alpha1.TemplateInstanceStatusFailed
	})
	raised := wanted("live", func(ti *configv1alpha1.TemplateInstance) { ti.Spec.Parameters[0].Value = "100" })
	unmarked := wanted("live", func(ti *configv1alpha1.TemplateInstance) { ti.Annotations = nil })
	tests := []struct {
		name   string
		event  func(c *Controller)
		queued int
	}{
		{name: "mandatory deleted from a live Space", queued: 1, event: func(c *Controller) { c.instanceDeleted(live) }},
		{name: "mandatory deleted, tombstone", queued: 1, event: func(c *Controller) {
			c.instanceDeleted(cache.DeletedFinalStateUnknown{Key: "live/quota", Obj: live})
		}},
		{name: "mandatory deleted from a Space being deleted", event: func(c *Controller) { c.instanceDeleted(wanted("gone")) }},
		{name: "mandatory deleted from a namespace not known", event: func(c *Controller) { c.instanceDeleted(wanted("unknown")) }},
		{name: "other instance deleted", event: func(c *Controller) { c.instanceDeleted(plain) }},
		{name: "status written", event: func(c *Controller) { c.instanceUpdated(live, statusOnly) }},
		{name: "parameters changed", queued: 1, event: func(c *Controller) { c.instanceUpdated(live, raised) }},
		{name: "annotation removed", queued: 1, event: func(c *Controller) { c.instanceUpdated(live, unmarked) }},
		{name: "other instance changed", event: func(c *Controller) {
			c.instanceUpdated(plain, wanted("live", func(ti *configv1alpha1.TemplateInstance) {
				ti.Annotations, ti.Spec.Sync = nil, true
			}))
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := fixture(t, mandatoryAccount(), spaceOf("live", false), spaceOf("gone", true))
			tc.event(c)
			assert.Equal(t, tc.queued, c.queue.Len())
		})
	}
}
