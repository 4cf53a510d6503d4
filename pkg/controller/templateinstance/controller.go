// Package templateinstance applies Templates: it renders each TemplateInstance's Template
// into the instance's namespace with server-side apply, records what it applied, follows
// Template changes for instances with spec.sync, retries failures with backoff, and deletes
// what an instance created when the instance goes. Each instance applies with its own field
// manager and never takes over, or deletes, an object another instance owns; roles and
// bindings are applied only if the instance's requester could create them.
package templateinstance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/accounts"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/controller"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned/scheme"
	configinformers "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/informers/externalversions/config/v1alpha1"
	configlisters "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/listers/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/template"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/template/helm"
)

const (
	// Name is the controller's name in logs and metrics.
	Name = "templateinstance"
	// ReasonForbidden is the failure of an instance whose role or binding its requester
	// could not create.
	ReasonForbidden = "Forbidden"
	// Finalizer holds an instance until the objects it created are deleted.
	Finalizer  = "config.kiosk.sh/templateinstance-cleanup"
	byTemplate = "spec.template"
)

// Controller reconciles TemplateInstances.
type Controller struct {
	config     versioned.Interface
	kube       kubernetes.Interface
	dynamic    dynamic.Interface
	mapper     meta.ResettableRESTMapper
	instances  configlisters.TemplateInstanceLister
	indexer    cache.Indexer
	templates  configlisters.TemplateLister
	accounts   configlisters.AccountLister
	namespaces corelisters.NamespaceLister
	secrets    corev1client.SecretsGetter
	charts     *helm.Renderer
	synced     []cache.InformerSynced
	queue      *controller.Queue
	events     events.EventBroadcaster
	recording  sync.Once
	recorder   events.EventRecorder
	locks      objectLocks
	now        func() time.Time
}

// refusal is a decision not to apply an object: the instance fails with its reason.
type refusal struct {
	Reason, Message string
}

func (r *refusal) Error() string { return r.Reason + ": " + r.Message }

// New returns the controller; Run starts it. kube reads the repository credentials of Helm
// charts, which charts renders (without charts, Templates with a chart fail), reads roles,
// asks access reviews and records events.
func New(config versioned.Interface, kube kubernetes.Interface, dyn dynamic.Interface, mapper meta.ResettableRESTMapper,
	charts *helm.Renderer,
	instances configinformers.TemplateInstanceInformer, templates configinformers.TemplateInformer,
	accounts configinformers.AccountInformer, namespaces coreinformers.NamespaceInformer) (*Controller, error) {
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: kube.EventsV1()})
	c := &Controller{
		config: config, kube: kube, dynamic: dyn, mapper: mapper, secrets: kube.CoreV1(), charts: charts,
		events:     broadcaster,
		recorder:   broadcaster.NewRecorder(scheme.Scheme, configv1alpha1.FieldManager),
		instances:  instances.Lister(),
		indexer:    instances.Informer().GetIndexer(),
		templates:  templates.Lister(),
		accounts:   accounts.Lister(),
		namespaces: namespaces.Lister(),
		synced: []cache.InformerSynced{instances.Informer().HasSynced, templates.Informer().HasSynced,
			accounts.Informer().HasSynced, namespaces.Informer().HasSynced},
		now: time.Now,
	}
	c.queue = controller.NewQueue(Name, c.Sync)
	if err := instances.Informer().AddIndexers(cache.Indexers{byTemplate: func(obj interface{}) ([]string, error) {
		ti, ok := obj.(*configv1alpha1.TemplateInstance)
		if !ok {
			return nil, nil
		}
		return []string{ti.Spec.Template}, nil
	}, byUID: indexByUID, byApplied: indexByApplied}); err != nil {
		return nil, err
	}
	if _, err := instances.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj interface{}) { c.enqueue(obj) },
		DeleteFunc: c.enqueue,
	}); err != nil {
		return nil, err
	}
	onTemplate := func(obj interface{}) {
		if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tomb.Obj
		}
		t, ok := obj.(*configv1alpha1.Template)
		if !ok {
			return
		}
		users, _ := c.indexer.ByIndex(byTemplate, t.Name)
		for _, u := range users {
			c.enqueue(u)
		}
	}
	if _, err := templates.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    onTemplate,
		UpdateFunc: func(_, obj interface{}) { onTemplate(obj) },
	}); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Controller) enqueue(obj interface{}) {
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
		c.queue.Add(key)
	}
}

// Run reconciles with workers until ctx is done.
// Events are sent from the first run on, for the life of the process: a replica that leads
// again keeps recording with the same broadcaster.
func (c *Controller) Run(ctx context.Context, workers int) {
	c.recording.Do(func() {
		if err := c.events.StartRecordingToSinkWithContext(context.WithoutCancel(ctx)); err != nil {
			klog.FromContext(ctx).Error(err, "Recording events of template instances")
		}
	})
	c.queue.Run(ctx, workers, c.synced...)
}

// Sync reconciles one TemplateInstance, given as namespace/name.
func (c *Controller) Sync(ctx context.Context, key string) error {
	namespace, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	ti, err := c.instances.TemplateInstances(namespace).Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if ti.DeletionTimestamp != nil {
		return c.cleanUp(ctx, ti)
	}
	if !hasFinalizer(ti) {
		ti = ti.DeepCopy()
		ti.Finalizers = append(ti.Finalizers, Finalizer)
		_, err := c.config.ConfigV1alpha1().TemplateInstances(namespace).Update(ctx, ti, metav1.UpdateOptions{FieldManager: configv1alpha1.FieldManager})
		return err // the update brings the instance back to the queue
	}
	tmpl, err := c.templates.Get(ti.Spec.Template)
	if apierrors.IsNotFound(err) {
		return c.fail(ctx, ti, configv1alpha1.ReasonTemplateNotFound, fmt.Sprintf("template %s does not exist", ti.Spec.Template))
	}
	if err != nil {
		return err
	}
	if ti.Status.Status == configv1alpha1.TemplateInstanceStatusDeployed &&
		(!ti.Spec.Sync || ti.Status.TemplateResourceVersion == tmpl.ResourceVersion) {
		return nil
	}
	return c.deploy(ctx, ti, tmpl)
}

func hasFinalizer(ti *configv1alpha1.TemplateInstance) bool {
	for _, f := range ti.Finalizers {
		if f == Finalizer {
			return true
		}
	}
	return false
}

// deploy renders the Template and applies it, then records the outcome.
func (c *Controller) deploy(ctx context.Context, ti *configv1alpha1.TemplateInstance, tmpl *configv1alpha1.Template) error {
	objs, err := c.render(ctx, ti, tmpl)
	var terr *template.Error
	if errors.As(err, &terr) {
		return c.fail(ctx, ti, terr.Reason, terr.Error())
	}
	if err != nil {
		return c.fail(ctx, ti, "RenderFailed", err.Error())
	}
	applied := make([]configv1alpha1.AppliedObject, 0, len(objs))
	for _, obj := range objs {
		out, err := c.apply(ctx, ti, tmpl, obj)
		var refused *refusal
		if errors.As(err, &refused) {
			return c.fail(ctx, ti, refused.Reason, refused.Message)
		}
		if err != nil {
			return c.fail(ctx, ti, configv1alpha1.ReasonApplyFailed, fmt.Sprintf("applying %s %s: %v", obj.GetKind(), obj.GetName(), err))
		}
		applied = append(applied, configv1alpha1.AppliedObject{APIVersion: out.GetAPIVersion(), Kind: out.GetKind(),
			Namespace: out.GetNamespace(), Name: out.GetName(), UID: string(out.GetUID())})
	}
	// Objects the Template no longer has go, so that a synced instance follows its Template.
	for _, old := range ti.Status.AppliedObjects {
		if !containsObject(applied, old) {
			if err := c.delete(ctx, ti, old); err != nil {
				return c.fail(ctx, ti, configv1alpha1.ReasonPruneFailed, fmt.Sprintf("deleting %s %s: %v", old.Kind, old.Name, err))
			}
		}
	}
	now := metav1.NewTime(c.now())
	return c.writeStatus(ctx, ti, configv1alpha1.TemplateInstanceStatus{
		Status:                  configv1alpha1.TemplateInstanceStatusDeployed,
		Reason:                  "Deployed",
		Message:                 fmt.Sprintf("applied %d objects", len(applied)),
		TemplateResourceVersion: tmpl.ResourceVersion,
		LastAppliedAt:           &now,
		AppliedObjects:          applied,
	})
}

func containsObject(list []configv1alpha1.AppliedObject, o configv1alpha1.AppliedObject) bool {
	for _, a := range list {
		if a.APIVersion == o.APIVersion && a.Kind == o.Kind && a.Namespace == o.Namespace && a.Name == o.Name {
			return true
		}
	}
	return false
}

// render resolves the parameters and renders the Template, manifests and chart, into the
// instance's namespace.
func (c *Controller) render(ctx context.Context, ti *configv1alpha1.TemplateInstance, tmpl *configv1alpha1.Template) ([]*unstructured.Unstructured, error) {
	tctx := template.Context{Namespace: ti.Namespace}
	if ns, err := c.namespaces.Get(ti.Namespace); err == nil {
		tctx.NamespaceLabels, tctx.NamespaceAnnotations = ns.Labels, ns.Annotations
		tctx.Account = ns.Labels[configv1alpha1.AccountLabel]
	}
	if tctx.Account != "" {
		if a, err := c.accounts.Get(tctx.Account); err == nil {
			tctx.AccountLabels, tctx.AccountAnnotations = a.Labels, a.Annotations
		}
	}
	params := make([]template.Parameter, 0, len(tmpl.Parameters))
	for _, p := range tmpl.Parameters {
		params = append(params, template.Parameter{Name: p.Name, Value: p.Value, Required: p.Required, Validation: p.Validation})
	}
	given := make([]template.Value, 0, len(ti.Spec.Parameters))
	for _, p := range ti.Spec.Parameters {
		given = append(given, template.Value{Name: p.Name, Value: p.Value})
	}
	manifests := make([][]byte, 0, len(tmpl.Resources.Manifests))
	for _, m := range tmpl.Resources.Manifests {
		manifests = append(manifests, m.Raw)
	}
	values, err := template.Resolve(tmpl.Name, params, given, tctx)
	if err != nil {
		return nil, err
	}
	objs, err := values.Render(manifests)
	if err != nil {
		return nil, err
	}
	if tmpl.Resources.Helm != nil {
		chartObjs, err := c.renderChart(ctx, ti, tmpl, values)
		if err != nil {
			return nil, err
		}
		objs = append(objs, chartObjs...)
	}
	if err := template.Place(objs, ti.Namespace, tmpl.AllowClusterScoped, c.isNamespaced); err != nil {
		return nil, err
	}
	return objs, nil
}

func (c *Controller) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		// A kind added since discovery was read: read it again, once.
		c.mapper.Reset()
		m, err = c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	return m, err
}

func (c *Controller) isNamespaced(gvk schema.GroupVersionKind) (bool, error) {
	m, err := c.mapping(gvk)
	if err != nil {
		return false, err
	}
	return m.Scope.Name() == meta.RESTScopeNameNamespace, nil
}

func (c *Controller) resource(gvk schema.GroupVersionKind, namespace string) (dynamic.ResourceInterface, error) {
	m, err := c.mapping(gvk)
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return c.dynamic.Resource(m.Resource).Namespace(namespace), nil
	}
	return c.dynamic.Resource(m.Resource), nil
}

// apply applies one object of ti's Template with ti's field manager. It refuses an object
// that another instance owns, and a role or binding that ti's requester could not create.
// Force takes the fields over from every other manager: the tenant's own edits, and the one
// manager that earlier versions applied every instance with.
func (c *Controller) apply(ctx context.Context, ti *configv1alpha1.TemplateInstance, tmpl *configv1alpha1.Template, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	if err := c.authorizeRBAC(ctx, ti, tmpl, obj); err != nil {
		return nil, err
	}
	gvk := obj.GroupVersionKind()
	r, err := c.resource(gvk, obj.GetNamespace())
	if err != nil {
		return nil, err
	}
	defer c.locks.lock(objectKey(gvk, obj.GetNamespace(), obj.GetName()))()
	live, err := c.live(ctx, gvk, obj.GetNamespace(), obj.GetName())
	if err != nil {
		return nil, err
	}
	if live != nil {
		if owners := c.otherOwners(ti, live); len(owners) > 0 {
			return nil, conflict(obj, owners)
		}
		if err := c.authorizeTakeover(ctx, ti, gvk, live); err != nil {
			return nil, err
		}
	}
	if err := c.adoptLegacyManager(ctx, ti, r, live); err != nil {
		return nil, err
	}
	markProtected(ti, obj)
	return r.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: InstanceFieldManager(ti), Force: true})
}

// markProtected gives the objects of a mandatory instance the ProtectedLabel, which keeps
// tenants from changing or deleting them, and takes it from those of any other instance: a
// tenant's instance does not make objects that the tenant then could not touch.
func markProtected(ti *configv1alpha1.TemplateInstance, obj *unstructured.Unstructured) {
	labels := obj.GetLabels()
	if accounts.IsMandatory(ti) {
		if labels == nil {
			labels = map[string]string{}
		}
		labels[configv1alpha1.ProtectedLabel] = "true"
	} else {
		delete(labels, configv1alpha1.ProtectedLabel)
	}
	obj.SetLabels(labels)
}

// adoptLegacyManager makes the fields that earlier versions applied with the one manager
// for every instance ti's own, before ti applies: so a field the Template has dropped since
// is removed, as for any object ti applied itself. ti owns live (no other instance does).
func (c *Controller) adoptLegacyManager(ctx context.Context, ti *configv1alpha1.TemplateInstance, r dynamic.ResourceInterface, live *unstructured.Unstructured) error {
	if live == nil {
		return nil
	}
	own := InstanceFieldManager(ti)
	fields := live.GetManagedFields()
	adopted := make([]metav1.ManagedFieldsEntry, 0, len(fields))
	legacy, owned := false, false
	for _, f := range fields {
		if f.Operation == metav1.ManagedFieldsOperationApply && f.Manager == own {
			owned = true
		}
	}
	for _, f := range fields {
		if f.Manager == configv1alpha1.FieldManager && f.Operation == metav1.ManagedFieldsOperationApply {
			legacy = true
			if owned {
				continue // ti has applied since: its own set is the one to keep
			}
			f.Manager = own
		}
		adopted = append(adopted, f)
	}
	if !legacy {
		return nil
	}
	patch, err := json.Marshal(map[string]interface{}{"metadata": map[string]interface{}{
		"managedFields": adopted, "resourceVersion": live.GetResourceVersion()}})
	if err != nil {
		return err
	}
	_, err = r.Patch(ctx, live.GetName(), types.MergePatchType, patch, metav1.PatchOptions{FieldManager: own})
	return err
}

// delete deletes an object ti applied, unless it was replaced since or another instance
// owns it now.
func (c *Controller) delete(ctx context.Context, ti *configv1alpha1.TemplateInstance, o configv1alpha1.AppliedObject) error {
	gvk := schema.FromAPIVersionAndKind(o.APIVersion, o.Kind)
	r, err := c.resource(gvk, o.Namespace)
	if err != nil {
		return err
	}
	defer c.locks.lock(objectKey(gvk, o.Namespace, o.Name))()
	live, err := c.live(ctx, gvk, o.Namespace, o.Name)
	if err != nil || live == nil {
		return err
	}
	if o.UID != "" && types.UID(o.UID) != live.GetUID() {
		return nil // replaced by an object this instance did not make
	}
	if !appliedBy(ti, live) {
		// status.appliedObjects is only a list of names: an object that does not carry this
		// instance's field manager was never applied by it, and is not its to delete.
		klog.FromContext(ctx).Info("Keeping an object the template instance did not apply", "templateInstance", klog.KObj(ti),
			"kind", o.Kind, "object", klog.KRef(o.Namespace, o.Name))
		return nil
	}
	if owners := c.otherOwners(ti, live); len(owners) > 0 {
		klog.FromContext(ctx).Info("Keeping an object another template instance owns", "templateInstance", klog.KObj(ti),
			"kind", o.Kind, "object", klog.KRef(o.Namespace, o.Name), "owners", owners)
		return nil
	}
	uid := live.GetUID()
	err = r.Delete(ctx, o.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone, or replaced by an object this instance did not make
	}
	return err
}

// cleanUp deletes what an instance created, unless it is marked to keep them, then lets
// the instance go.
func (c *Controller) cleanUp(ctx context.Context, ti *configv1alpha1.TemplateInstance) error {
	if !hasFinalizer(ti) {
		return nil
	}
	if ti.Annotations[configv1alpha1.NoOwnerAnnotation] != "true" {
		for _, o := range ti.Status.AppliedObjects {
			if err := c.delete(ctx, ti, o); err != nil {
				return fmt.Errorf("deleting %s %s of template instance %s/%s: %w", o.Kind, o.Name, ti.Namespace, ti.Name, err)
			}
		}
	}
	ti = ti.DeepCopy()
	kept := ti.Finalizers[:0]
	for _, f := range ti.Finalizers {
		if f != Finalizer {
			kept = append(kept, f)
		}
	}
	ti.Finalizers = kept
	_, err := c.config.ConfigV1alpha1().TemplateInstances(ti.Namespace).Update(ctx, ti, metav1.UpdateOptions{FieldManager: configv1alpha1.FieldManager})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// fail records a failure in the instance's status and in a Warning event, and returns an
// error, so that the instance is retried with backoff.
func (c *Controller) fail(ctx context.Context, ti *configv1alpha1.TemplateInstance, reason, message string) error {
	status := ti.Status.DeepCopy()
	status.Status, status.Reason, status.Message = configv1alpha1.TemplateInstanceStatusFailed, reason, message
	if err := c.writeStatus(ctx, ti, *status); err != nil {
		return err
	}
	c.recorder.Eventf(ti, nil, corev1.EventTypeWarning, reason, "Apply", "%s", message)
	klog.FromContext(ctx).Info("Template instance failed", "templateInstance", klog.KObj(ti), "reason", reason, "message", message)
	return fmt.Errorf("%s: %s", reason, message)
}

func (c *Controller) writeStatus(ctx context.Context, ti *configv1alpha1.TemplateInstance, status configv1alpha1.TemplateInstanceStatus) error {
	ti = ti.DeepCopy()
	ti.Status = status
	_, err := c.config.ConfigV1alpha1().TemplateInstances(ti.Namespace).UpdateStatus(ctx, ti, metav1.UpdateOptions{FieldManager: configv1alpha1.FieldManager})
	return err
}
