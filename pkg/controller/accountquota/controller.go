// Package accountquota recounts what each AccountQuota's Account uses, from the objects in
// the Account's namespaces, so that deletions, drift and objects created while the webhook
// was unreachable are all counted. It writes status.total and status.namespaces.
package accountquota

import (
	"context"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	quotav1 "k8s.io/apiserver/pkg/quota/v1"
	"k8s.io/client-go/dynamic"
	coreinformers "k8s.io/client-go/informers/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/controller"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
	configinformers "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/informers/externalversions/config/v1alpha1"
	configlisters "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/listers/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/quota"
)

const (
	// Name is the controller's name in logs and metrics.
	Name = "accountquota"
	// chargeWindow is how long a webhook charge is trusted over a recount that does not
	// show it yet: the admitted object may still be on its way to storage.
	chargeWindow = 10 * time.Second
	// resync recounts every quota this often, for kinds whose changes are not watched.
	resync = 5 * time.Minute
	// podDelay gathers the pod changes of a burst into one recount.
	podDelay = 500 * time.Millisecond
)

// Controller recounts AccountQuotas.
type Controller struct {
	config     versioned.Interface
	dynamic    dynamic.Interface
	mapper     meta.RESTMapper
	quotas     configlisters.AccountQuotaLister
	byAccount  cache.Indexer
	namespaces corelisters.NamespaceLister
	pods       corelisters.PodLister
	synced     []cache.InformerSynced
	queue      *controller.Queue
	now        func() time.Time
}

// New returns the controller; Run starts it.
func New(config versioned.Interface, dyn dynamic.Interface, mapper meta.RESTMapper, quotas configinformers.AccountQuotaInformer,
	namespaces coreinformers.NamespaceInformer, pods coreinformers.PodInformer) (*Controller, error) {
	if err := quota.IndexByAccount(quotas.Informer()); err != nil {
		return nil, err
	}
	c := &Controller{config: config, dynamic: dyn, mapper: mapper, quotas: quotas.Lister(), byAccount: quotas.Informer().GetIndexer(),
		namespaces: namespaces.Lister(), pods: pods.Lister(),
		synced: []cache.InformerSynced{quotas.Informer().HasSynced, namespaces.Informer().HasSynced, pods.Informer().HasSynced},
		now:    time.Now}
	c.queue = controller.NewQueue(Name, c.Sync)
	if _, err := quotas.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) { c.enqueueQuota(obj) },
		UpdateFunc: func(old, obj interface{}) {
			o, n := old.(*configv1alpha1.AccountQuota), obj.(*configv1alpha1.AccountQuota)
			if !equality.Semantic.DeepEqual(o.Spec, n.Spec) {
				c.enqueueQuota(obj)
			}
		},
	}); err != nil {
		return nil, err
	}
	byNamespace := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { c.enqueuePodNamespace(obj) },
		UpdateFunc: func(_, obj interface{}) { c.enqueuePodNamespace(obj) },
		DeleteFunc: func(obj interface{}) { c.enqueuePodNamespace(obj) },
	}
	if _, err := pods.Informer().AddEventHandler(byNamespace); err != nil {
		return nil, err
	}
	if _, err := namespaces.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { c.enqueueAccount(obj) },
		UpdateFunc: func(_, obj interface{}) { c.enqueueAccount(obj) },
		DeleteFunc: func(obj interface{}) { c.enqueueAccount(obj) },
	}); err != nil {
		return nil, err
	}
	return c, nil
}

func unwrap(obj interface{}) metav1.Object {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	m, _ := obj.(metav1.Object)
	return m
}

func (c *Controller) enqueueQuota(obj interface{}) {
	if m := unwrap(obj); m != nil {
		c.queue.Add(m.GetName())
	}
}

// enqueuePodNamespace recounts the quotas of a pod's Account shortly after the pod changed.
func (c *Controller) enqueuePodNamespace(obj interface{}) {
	m := unwrap(obj)
	if m == nil {
		return
	}
	ns, err := c.namespaces.Get(m.GetNamespace())
	if err == nil {
		c.enqueueAccountName(ns.Labels[configv1alpha1.AccountLabel], podDelay)
	}
}

func (c *Controller) enqueueAccount(obj interface{}) {
	if m := unwrap(obj); m != nil {
		c.enqueueAccountName(m.GetLabels()[configv1alpha1.AccountLabel], 0)
	}
}

func (c *Controller) enqueueAccountName(account string, after time.Duration) {
	if account == "" {
		return
	}
	quotas, _ := quota.QuotasOf(c.byAccount, account)
	for _, q := range quotas {
		c.queue.AddAfter(q.Name, after)
	}
}

// Run recounts with workers until ctx is done.
func (c *Controller) Run(ctx context.Context, workers int) { c.queue.Run(ctx, workers, c.synced...) }

// Sync recounts one AccountQuota.
func (c *Controller) Sync(ctx context.Context, name string) error {
	q, err := c.quotas.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	// Read the quota fresh: its resourceVersion guards the write against concurrent charges.
	q, err = c.config.ConfigV1alpha1().AccountQuotas().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	namespaces, err := c.namespaces.List(labels.SelectorFromSet(labels.Set{configv1alpha1.AccountLabel: q.Spec.Account}))
	if err != nil {
		return err
	}
	sort.Slice(namespaces, func(i, j int) bool { return namespaces[i].Name < namespaces[j].Name })
	hard := q.Spec.Quota.Hard
	total := quota.Total(hard)
	var perNamespace []configv1alpha1.AccountQuotaStatusByNamespace
	for _, ns := range namespaces {
		used, err := c.usage(ctx, q.Spec.Quota, ns.Name)
		if err != nil {
			return err
		}
		total = quotav1.Add(total, used)
		perNamespace = append(perNamespace, configv1alpha1.AccountQuotaStatusByNamespace{
			Namespace: ns.Name, Status: corev1.ResourceQuotaStatus{Hard: hard, Used: used}})
	}
	recent := quota.ChargedRecently(q, chargeWindow, c.now())
	total = quota.Recounted(hard, total, q.Status.Total.Used, recent)
	if recent {
		c.queue.AddAfter(name, chargeWindow)
	} else {
		c.queue.AddAfter(name, resync)
	}
	want := configv1alpha1.AccountQuotaStatus{Total: corev1.ResourceQuotaStatus{Hard: hard, Used: total}, Namespaces: perNamespace}
	if equality.Semantic.DeepEqual(q.Status, want) {
		return nil
	}
	q = q.DeepCopy()
	q.Status = want
	_, err = c.config.ConfigV1alpha1().AccountQuotas().UpdateStatus(ctx, q, metav1.UpdateOptions{FieldManager: configv1alpha1.FieldManager})
	return err
}

// usage counts what the objects of one namespace use of what spec limits.
func (c *Controller) usage(ctx context.Context, spec corev1.ResourceQuotaSpec, namespace string) (corev1.ResourceList, error) {
	used := quota.Total(spec.Hard)
	for _, gr := range quota.ResourcesFor(spec.Hard) {
		if gr == (schema.GroupResource{Resource: "pods"}) {
			// Pods are watched already: count them from the cache.
			pods, err := c.pods.Pods(namespace).List(labels.Everything())
			if err != nil {
				return nil, fmt.Errorf("listing pods in %s: %w", namespace, err)
			}
			for _, pod := range pods {
				used = quota.Count(spec, used, quota.FromPod(pod))
			}
			continue
		}
		gvr, err := c.mapper.ResourceFor(gr.WithVersion(""))
		if err != nil {
			continue // a kind this cluster does not serve uses nothing
		}
		list, err := c.dynamic.Resource(gvr).Namespace(namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing %s in %s: %w", gr, namespace, err)
		}
		for i := range list.Items {
			obj, err := quota.FromUnstructured(gr, &list.Items[i])
			if err != nil {
				continue
			}
			used = quota.Count(spec, used, obj)
		}
	}
	return used, nil
}
