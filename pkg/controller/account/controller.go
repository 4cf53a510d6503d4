// Package account keeps every Space of an Account in line with the Account: the RoleBinding
// that gives the Account's subjects their ClusterRole in each Space, status.namespaces, and
// the condition SpacesBound, which says why a Space could not be bound.
// Namespaces labelled kiosk.sh/account by other means than a Space create (GitOps, a kiosk
// installation) are adopted the same way. Deleting an Account removes its users' access to
// its Spaces; the namespaces themselves stay.
//
// The Account's spec.isolation is kept on every Space the same way: the Pod Security labels
// and node annotations of its namespace, and its isolation NetworkPolicy.
//
// The Account's mandatory TemplateInstances are kept in every live Space as the Account sets
// them: one deleted (by an admin, or by any other path) is created again as soon as it is
// gone, and one whose spec, kiosk.sh/account label or mandatory annotation was changed is set
// back. Spaces being deleted are left alone.
package account

import (
	"context"
	"fmt"
	"maps"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	coreinformers "k8s.io/client-go/informers/core/v1"
	networkinginformers "k8s.io/client-go/informers/networking/v1"
	rbacinformers "k8s.io/client-go/informers/rbac/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	networkinglisters "k8s.io/client-go/listers/networking/v1"
	rbaclisters "k8s.io/client-go/listers/rbac/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/accounts"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/controller"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
	configinformers "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/informers/externalversions/config/v1alpha1"
	configlisters "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/listers/config/v1alpha1"
)

// Name is the controller's name in logs and metrics.
const Name = "account"

// Controller reconciles Accounts with their Spaces.
type Controller struct {
	kube       kubernetes.Interface
	config     versioned.Interface
	accounts   configlisters.AccountLister
	namespaces corelisters.NamespaceLister
	bindings   rbaclisters.RoleBindingLister
	instances  configlisters.TemplateInstanceLister
	policies   networkinglisters.NetworkPolicyLister
	synced     []cache.InformerSynced
	queue      *controller.Queue
}

// New returns the controller; Run starts it.
func New(kube kubernetes.Interface, config versioned.Interface, accounts configinformers.AccountInformer,
	namespaces coreinformers.NamespaceInformer, bindings rbacinformers.RoleBindingInformer,
	instances configinformers.TemplateInstanceInformer, policies networkinginformers.NetworkPolicyInformer) (*Controller, error) {
	c := &Controller{
		kube:       kube,
		config:     config,
		accounts:   accounts.Lister(),
		namespaces: namespaces.Lister(),
		bindings:   bindings.Lister(),
		instances:  instances.Lister(),
		policies:   policies.Lister(),
		synced: []cache.InformerSynced{accounts.Informer().HasSynced, namespaces.Informer().HasSynced,
			bindings.Informer().HasSynced, instances.Informer().HasSynced, policies.Informer().HasSynced},
	}
	RegisterMetrics()
	c.queue = controller.NewQueue(Name, c.Sync)
	if _, err := accounts.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { c.enqueueObject(obj) },
		UpdateFunc: func(_, obj interface{}) { c.enqueueObject(obj) },
		DeleteFunc: func(obj interface{}) { c.enqueueObject(obj) },
	}); err != nil {
		return nil, err
	}
	byLabel := cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) { c.enqueueLabel(obj) },
		UpdateFunc: func(old, obj interface{}) {
			c.enqueueLabel(old)
			c.enqueueLabel(obj)
		},
		DeleteFunc: func(obj interface{}) { c.enqueueLabel(obj) },
	}
	if _, err := namespaces.Informer().AddEventHandler(byLabel); err != nil {
		return nil, err
	}
	if _, err := bindings.Informer().AddEventHandler(byLabel); err != nil {
		return nil, err
	}
	if _, err := policies.Informer().AddEventHandler(byLabel); err != nil {
		return nil, err
	}
	if _, err := instances.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		UpdateFunc: c.instanceUpdated,
		DeleteFunc: c.instanceDeleted,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// instanceDeleted queues the Account of the Space a mandatory TemplateInstance was deleted
// from, so that it is created again.
func (c *Controller) instanceDeleted(obj interface{}) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if ti, ok := obj.(*configv1alpha1.TemplateInstance); ok && accounts.IsMandatory(ti) {
		c.enqueueSpace(ti.Namespace)
	}
}

// instanceUpdated queues the Account of the Space of a mandatory TemplateInstance whose spec,
// kiosk.sh/account label or mandatory annotation changed, so that it is set back.
func (c *Controller) instanceUpdated(oldObj, obj interface{}) {
	old, ok1 := oldObj.(*configv1alpha1.TemplateInstance)
	ti, ok2 := obj.(*configv1alpha1.TemplateInstance)
	if !ok1 || !ok2 || (!accounts.IsMandatory(old) && !accounts.IsMandatory(ti)) {
		return
	}
	if accounts.MandatoryDrift(ti, old) != "" {
		c.enqueueSpace(ti.Namespace)
	}
}

// enqueueSpace queues the Account of namespace, when it is a live Space: a namespace being
// deleted takes its instances with it.
func (c *Controller) enqueueSpace(namespace string) {
	ns, err := c.namespaces.Get(namespace)
	if err != nil || !live(ns) {
		return
	}
	if name := ns.Labels[configv1alpha1.AccountLabel]; name != "" {
		c.queue.Add(name)
	}
}

// live reports whether a Space is not being deleted.
func live(ns *corev1.Namespace) bool {
	return ns.DeletionTimestamp == nil && ns.Status.Phase != corev1.NamespaceTerminating
}

func (c *Controller) enqueueObject(obj interface{}) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if m, ok := obj.(metav1.Object); ok {
		c.queue.Add(m.GetName())
	}
}

// enqueueLabel queues the Account named by an object's kiosk.sh/account label.
func (c *Controller) enqueueLabel(obj interface{}) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if m, ok := obj.(metav1.Object); ok {
		if name := m.GetLabels()[configv1alpha1.AccountLabel]; name != "" {
			c.queue.Add(name)
		}
	}
}

// Run reconciles with workers until ctx is done.
func (c *Controller) Run(ctx context.Context, workers int) { c.queue.Run(ctx, workers, c.synced...) }

// Sync makes the Spaces of one Account match it.
func (c *Controller) Sync(ctx context.Context, name string) error {
	spaces, err := c.namespaces.List(labels.SelectorFromSet(labels.Set{configv1alpha1.AccountLabel: name}))
	if err != nil {
		return err
	}
	account, err := c.accounts.Get(name)
	if apierrors.IsNotFound(err) {
		// The Account is gone: its users lose access, the namespaces stay.
		return c.removeBindings(ctx, name, spaces)
	}
	if err != nil {
		return err
	}
	var errs []error
	var unbound []string
	for _, ns := range spaces {
		if !live(ns) {
			continue
		}
		// Isolation and mandatory templates go in before the Account's users are bound.
		err := c.syncIsolation(ctx, account, ns)
		if err == nil {
			err = c.syncNetworkPolicy(ctx, account, ns.Name)
		}
		if err == nil {
			err = c.syncMandatory(ctx, account, ns.Name)
		}
		if err == nil {
			err = c.syncBinding(ctx, account, ns.Name)
		}
		if err != nil {
			errs = append(errs, err)
			unbound = append(unbound, ns.Name)
		}
	}
	var first error
	if len(errs) > 0 {
		first = errs[0]
	}
	bound := spacesBound(account, unbound, first)
	if len(spaces) == 0 && meta.FindStatusCondition(account.Status.Conditions, ConditionSpacesBound) == nil {
		// Nothing to report yet: an Account without Spaces is not written to.
		bound = metav1.Condition{}
	}
	if err := c.syncStatus(ctx, account, spaces, bound); err != nil {
		errs = append(errs, err)
	}
	return utilerrors.NewAggregate(errs)
}

// syncIsolation sets the labels and annotations of the Account's spec.isolation on the
// namespace of one of its Spaces, and removes those it set that the Account no longer sets.
func (c *Controller) syncIsolation(ctx context.Context, account *configv1alpha1.Account, ns *corev1.Namespace) error {
	updated := ns.DeepCopy()
	if !accounts.ApplyIsolation(updated, accounts.Isolation(account)) {
		return nil
	}
	klog.FromContext(ctx).Info("Setting the isolation of a Space", "space", ns.Name, "account", account.Name,
		"keys", updated.Annotations[configv1alpha1.IsolationKeysAnnotation])
	_, err := c.kube.CoreV1().Namespaces().Update(ctx, updated, metav1.UpdateOptions{FieldManager: configv1alpha1.FieldManager})
	if err != nil {
		return fmt.Errorf("setting the isolation of space %s: %w", ns.Name, err)
	}
	isolationWrites.WithLabelValues("namespace", "update").Inc()
	return nil
}

// syncMandatory creates the Account's mandatory TemplateInstances missing in namespace and
// sets back those that differ from the Account. One being deleted is created again once gone.
func (c *Controller) syncMandatory(ctx context.Context, account *configv1alpha1.Account, namespace string) error {
	var errs []error
	for _, want := range accounts.Mandatory(account, namespace) {
		have, err := c.instances.TemplateInstances(namespace).Get(want.Name)
		switch {
		case apierrors.IsNotFound(err):
			err = accounts.CreateMandatory(ctx, c.config, want)
		case err != nil:
			// Reported below, and retried.
		case have.DeletionTimestamp != nil:
			// Its delete event queues the Account again.
		default:
			if drift := accounts.MandatoryDrift(have, want); drift != "" {
				klog.FromContext(ctx).Info("Setting back a mandatory template instance", "templateInstance", klog.KObj(have),
					"account", account.Name, "field", drift)
				err = accounts.ResetMandatory(ctx, c.config, have, want)
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return utilerrors.NewAggregate(errs)
}

func (c *Controller) syncBinding(ctx context.Context, account *configv1alpha1.Account, namespace string) error {
	want := accounts.DesiredBinding(account, namespace)
	have, err := c.bindings.RoleBindings(namespace).Get(accounts.BindingName(account.Name))
	switch {
	case apierrors.IsNotFound(err):
		have = nil
	case err != nil:
		return err
	}
	rbs := c.kube.RbacV1().RoleBindings(namespace)
	switch {
	case want == nil && have == nil:
		return nil
	case want == nil:
		return ignoreNotFound(rbs.Delete(ctx, have.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &have.UID}}))
	case have == nil:
		_, err := rbs.Create(ctx, want, metav1.CreateOptions{FieldManager: configv1alpha1.FieldManager})
		if apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("RoleBinding %s/%s exists but is not in the cache yet", namespace, want.Name)
		}
		return err
	case have.RoleRef != want.RoleRef:
		// roleRef cannot change: replace the binding.
		if err := ignoreNotFound(rbs.Delete(ctx, have.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &have.UID}})); err != nil {
			return err
		}
		_, err := rbs.Create(ctx, want, metav1.CreateOptions{FieldManager: configv1alpha1.FieldManager})
		return err
	case !equality.Semantic.DeepEqual(have.Subjects, want.Subjects) || !hasLabels(have.Labels, want.Labels):
		updated := have.DeepCopy()
		updated.Subjects = want.Subjects
		if updated.Labels == nil {
			updated.Labels = map[string]string{}
		}
		maps.Copy(updated.Labels, want.Labels)
		_, err := rbs.Update(ctx, updated, metav1.UpdateOptions{FieldManager: configv1alpha1.FieldManager})
		return err
	}
	return nil
}

func (c *Controller) removeBindings(ctx context.Context, account string, spaces []*corev1.Namespace) error {
	var errs []error
	for _, ns := range spaces {
		have, err := c.bindings.RoleBindings(ns.Name).Get(accounts.BindingName(account))
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		err = c.kube.RbacV1().RoleBindings(ns.Name).Delete(ctx, have.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &have.UID}})
		if err := ignoreNotFound(err); err != nil {
			errs = append(errs, err)
		}
	}
	return utilerrors.NewAggregate(errs)
}

// syncStatus writes status.namespaces and the SpacesBound condition (unless its Type is
// empty), when they changed.
func (c *Controller) syncStatus(ctx context.Context, account *configv1alpha1.Account, spaces []*corev1.Namespace, bound metav1.Condition) error {
	names := make([]string, 0, len(spaces))
	for _, ns := range spaces {
		names = append(names, ns.Name)
	}
	sort.Strings(names)
	want := make([]configv1alpha1.AccountNamespaceStatus, 0, len(names))
	for _, n := range names {
		want = append(want, configv1alpha1.AccountNamespaceStatus{Name: n})
	}
	updated := account.DeepCopy()
	conditionChanged := bound.Type != "" && meta.SetStatusCondition(&updated.Status.Conditions, bound)
	sameSpaces := equality.Semantic.DeepEqual(want, account.Status.Namespaces) || (len(want) == 0 && len(account.Status.Namespaces) == 0)
	if sameSpaces && !conditionChanged {
		return nil
	}
	updated.Status.Namespaces = want
	_, err := c.config.ConfigV1alpha1().Accounts().UpdateStatus(ctx, updated, metav1.UpdateOptions{FieldManager: configv1alpha1.FieldManager})
	return err
}

// hasLabels reports whether labels holds every label of want.
func hasLabels(labels, want map[string]string) bool {
	for k, v := range want {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func ignoreNotFound(err error) error {
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
