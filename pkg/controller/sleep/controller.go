// Package sleep is the sleep mode controller: it puts the Spaces whose
// sleepmode.loft.sh/ annotations say so to sleep (their workloads scaled to zero, their
// CronJobs suspended), wakes them, and deletes those idle for delete-after. It is driven by
// the Spaces' namespaces: each change, and each moment at which a Space's decision changes
// by itself (a sleep-after running out, a schedule firing), syncs that Space once. All it
// needs to resume lives in annotations, so a restart or a new leader loses nothing.
package sleep

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/controller"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/sleep"
)

// Name is the controller's name in logs and metrics.
const Name = "sleep"

// margin is added to a wait for a deadline, so that the sync comes after it.
const margin = 100 * time.Millisecond

// Controller puts Spaces to sleep and wakes them.
type Controller struct {
	kube       kubernetes.Interface
	dynamic    dynamic.Interface
	namespaces corelisters.NamespaceLister
	synced     cache.InformerSynced
	queue      *controller.Queue
	// Now is the clock; tests replace it.
	Now func() time.Time
	// Release, when set, gives back the place a deleted Space held under its Account's
	// Space limit, so that the limit sees the deletion at once.
	Release func(ctx context.Context, account, name string) error

	mu     sync.Mutex
	spaces map[string]spaceMetrics
}

// New returns the controller; Run starts it.
func New(kube kubernetes.Interface, dyn dynamic.Interface, namespaces coreinformers.NamespaceInformer) (*Controller, error) {
	c := &Controller{kube: kube, dynamic: dyn, namespaces: namespaces.Lister(), synced: namespaces.Informer().HasSynced,
		Now: time.Now, spaces: map[string]spaceMetrics{}}
	c.queue = controller.NewQueue(Name, c.Sync)
	RegisterMetrics()
	if _, err := namespaces.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, obj interface{}) { c.enqueue(obj) },
		DeleteFunc: func(obj interface{}) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if ns, ok := obj.(*corev1.Namespace); ok {
				c.record(ns.Name, spaceMetrics{})
			}
		},
	}); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Controller) enqueue(obj interface{}) {
	ns, ok := obj.(*corev1.Namespace)
	if !ok || ns.Labels[configv1alpha1.AccountLabel] == "" {
		return
	}
	if sleep.Enabled(ns.Annotations) || c.known(ns.Name) {
		c.queue.Add(ns.Name)
	}
}

// Run syncs with workers until ctx is done.
func (c *Controller) Run(ctx context.Context, workers int) { c.queue.Run(ctx, workers, c.synced) }

// Sync brings one Space to what its annotations say at this moment, and looks at it again
// when that may change by itself.
func (c *Controller) Sync(ctx context.Context, name string) error {
	wait, err := c.sync(ctx, name)
	if err == nil && wait > 0 {
		c.queue.AddAfter(name, wait)
	}
	return err
}

// sync does Sync's work, and returns how long to wait before the next look; 0 for none.
func (c *Controller) sync(ctx context.Context, name string) (time.Duration, error) {
	ns, err := c.namespaces.Get(name)
	if apierrors.IsNotFound(err) {
		c.record(name, spaceMetrics{})
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if ns.Labels[configv1alpha1.AccountLabel] == "" || ns.Status.Phase == corev1.NamespaceTerminating || ns.DeletionTimestamp != nil {
		c.record(name, spaceMetrics{})
		return 0, nil
	}
	logger := klog.FromContext(ctx).WithValues("space", name)
	state, err := sleep.StateOf(ns.Annotations, ns.CreationTimestamp.Time)
	if err != nil {
		// Space create and update refuse such values; they came in through the namespace.
		logger.Info("Ignoring invalid sleep mode annotations", "err", err)
	}
	if !state.Config.Enabled() && !state.Asleep() {
		c.record(name, spaceMetrics{})
		return 0, nil
	}
	now := c.Now()
	d := sleep.Decide(state, now)
	switch d.Action {
	case sleep.Delete:
		logger.Info("Deleting an idle Space", "deleteAfter", state.Config.DeleteAfter)
		err = c.kube.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
		if apierrors.IsNotFound(err) {
			err = nil
		}
		if err != nil {
			return 0, err
		}
		transitions.WithLabelValues("delete").Inc()
		if c.Release != nil {
			if err := c.Release(ctx, ns.Labels[configv1alpha1.AccountLabel], name); err != nil {
				// The place comes back by itself once the namespace is gone.
				logger.Error(err, "Releasing the Space limit place of a deleted Space")
			}
		}
		return 0, nil
	case sleep.EndForce:
		logger.Info("The forced sleep of a Space is over", "forceDuration", state.Config.ForceDuration)
		return 0, c.updateNamespace(ctx, name, func(a map[string]string) { delete(a, sleep.Force) })
	case sleep.Sleep:
		if !state.Asleep() || state.Reason != d.Reason {
			logger.Info("Space goes to sleep", "reason", d.Reason)
			transitions.WithLabelValues("sleep").Inc()
			// The Space is marked first: a restart in the middle finishes the job.
			if err := c.updateNamespace(ctx, name, func(a map[string]string) {
				if _, ok := a[sleep.SleepingSince]; !ok {
					a[sleep.SleepingSince] = sleep.FormatUnix(now)
				}
				a[sleep.SleepReason] = d.Reason
			}); err != nil {
				return 0, err
			}
		}
		saved, err := c.scaleDown(ctx, name, state.Config.DeleteAllPods)
		if err != nil {
			return 0, err
		}
		c.record(name, spaceMetrics{sleeping: true, replicas: saved})
	case sleep.Wake:
		logger.Info("Space wakes up", "reason", state.Reason)
		if err := c.scaleUp(ctx, name); err != nil {
			return 0, err
		}
		if err := c.updateNamespace(ctx, name, func(a map[string]string) {
			delete(a, sleep.SleepingSince)
			delete(a, sleep.SleepReason)
			// Waking is activity: the Space is idle from now on.
			a[sleep.LastActivity] = sleep.FormatUnix(now)
		}); err != nil {
			return 0, err
		}
		transitions.WithLabelValues("wake").Inc()
		c.record(name, spaceMetrics{})
		return 0, nil
	default:
		c.record(name, spaceMetrics{})
	}
	if d.Next.IsZero() {
		return 0, nil
	}
	return d.Next.Sub(now) + margin, nil
}

// updateNamespace changes the annotations of namespace name with change, on the latest
// version of it.
func (c *Controller) updateNamespace(ctx context.Context, name string, change func(map[string]string)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ns, err := c.kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if ns.Annotations == nil {
			ns.Annotations = map[string]string{}
		}
		change(ns.Annotations)
		_, err = c.kube.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{FieldManager: configv1alpha1.FieldManager})
		if err != nil {
			return fmt.Errorf("namespace %s: %w", name, err)
		}
		return nil
	})
}
