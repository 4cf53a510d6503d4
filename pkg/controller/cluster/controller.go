// Package cluster probes the member clusters of a hub: for every Cluster it reaches the
// member's kube-apiserver with the hub's credentials and writes to status whether it
// answered, its version, and whether it serves tenancy.kiosk.sh.
package cluster

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/cache"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	tenancyv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/controller"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
	configinformers "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/informers/externalversions/config/v1alpha1"
	configlisters "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/listers/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/hub"
)

const (
	// Name is the controller's name in logs and metrics.
	Name = "cluster"
	// probeTimeout bounds one probe of a member.
	probeTimeout = 5 * time.Second
)

// Controller probes Clusters and writes their status.
type Controller struct {
	config   versioned.Interface
	clusters configlisters.ClusterLister
	secrets  hub.SecretGetter
	synced   []cache.InformerSynced
	queue    *controller.Queue
	// Interval is how often each Cluster is probed.
	Interval time.Duration
	now      func() time.Time
}

// New returns the controller; Run starts it. secrets reads the credentials Secrets.
func New(config versioned.Interface, clusters configinformers.ClusterInformer, secrets hub.SecretGetter, interval time.Duration) (*Controller, error) {
	c := &Controller{config: config, clusters: clusters.Lister(), secrets: secrets,
		synced: []cache.InformerSynced{clusters.Informer().HasSynced}, Interval: interval, now: time.Now}
	c.queue = controller.NewQueue(Name, c.Sync)
	enqueue := func(obj interface{}) {
		if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
			c.queue.Add(key)
		}
	}
	if _, err := clusters.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue,
		UpdateFunc: func(old, obj interface{}) {
			if !equality.Semantic.DeepEqual(old.(*configv1alpha1.Cluster).Spec, obj.(*configv1alpha1.Cluster).Spec) {
				enqueue(obj)
			}
		},
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run probes the Clusters with workers until ctx is done.
func (c *Controller) Run(ctx context.Context, workers int) {
	c.queue.Run(ctx, workers, c.synced...)
}

// Sync probes one Cluster, writes its status and probes it again after Interval.
func (c *Controller) Sync(ctx context.Context, name string) error {
	cl, err := c.clusters.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	status := c.probe(ctx, cl)
	status.LastProbeTime = metav1.NewTime(c.now().Truncate(time.Second))
	status.ObservedGeneration = cl.Generation
	defer c.queue.AddAfter(name, c.Interval)
	old := cl.Status
	old.LastProbeTime = status.LastProbeTime
	if equality.Semantic.DeepEqual(old, status) && !cl.Status.LastProbeTime.IsZero() &&
		c.now().Sub(cl.Status.LastProbeTime.Time) < 10*c.Interval {
		// Unchanged: no write every Interval, only now and then to show the probe runs.
		return nil
	}
	updated := cl.DeepCopy()
	updated.Status = status
	if _, err := c.config.ConfigV1alpha1().Clusters().UpdateStatus(ctx, updated, metav1.UpdateOptions{FieldManager: configv1alpha1.FieldManager}); err != nil {
		return fmt.Errorf("writing the status of cluster %q: %w", name, err)
	}
	return nil
}

// probe reaches the member with the hub's credentials: /version, then the discovery of
// tenancy.kiosk.sh/v1alpha1, which answers only when a tenancy-apiserver serves it there.
func (c *Controller) probe(ctx context.Context, cl *configv1alpha1.Cluster) configv1alpha1.ClusterStatus {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cfg, err := hub.ConfigFor(ctx, cl, c.secrets)
	if err != nil {
		return configv1alpha1.ClusterStatus{Message: err.Error()}
	}
	cfg.Timeout = probeTimeout
	d, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return configv1alpha1.ClusterStatus{Message: err.Error()}
	}
	v, err := d.ServerVersion()
	if err != nil {
		return configv1alpha1.ClusterStatus{Message: "kube-apiserver does not answer: " + err.Error()}
	}
	status := configv1alpha1.ClusterStatus{Reachable: true, ServerVersion: v.GitVersion}
	gv := tenancyv1alpha1.SchemeGroupVersion.String()
	resources, err := d.ServerResourcesForGroupVersion(gv)
	switch {
	case err != nil:
		status.Message = gv + " is not served: " + err.Error()
	case !hasSpaces(resources):
		status.Message = gv + " serves no spaces"
	default:
		status.TenancyAPIServer = true
	}
	return status
}

func hasSpaces(l *metav1.APIResourceList) bool {
	for _, r := range l.APIResources {
		if r.Name == "spaces" {
			return true
		}
	}
	return false
}
