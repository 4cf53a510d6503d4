// Package hubaccount keeps, in every member cluster of a hub, a copy of each hub Account
// that selects the member (spec.clusters), of the AccountQuotas whose spec.account names
// it, and of the Templates its space.templateInstances name. Copies carry the hub's label
// (config.kiosk.sh HubLabel); a change to one in the member is reverted, a copy no longer
// wanted is deleted, and an object of the same name without the label is never written.
// Each hub Account's status.clusters says, per selected member, whether its copies match.
package hubaccount

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/klog/v2"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/controller"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
	configinformers "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/informers/externalversions/config/v1alpha1"
	configlisters "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/listers/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/hub"
)

const (
	// Name is the controller's name in logs and metrics.
	Name = "hub-account"
	// memberTimeout bounds one sync of a member, so that a member that does not answer
	// holds a worker no longer than this.
	memberTimeout = 10 * time.Second
)

// Controller copies the hub's Accounts into the member clusters they select.
type Controller struct {
	config    versioned.Interface
	accounts  configlisters.AccountLister
	quotas    configlisters.AccountQuotaLister
	templates configlisters.TemplateLister
	clusters  configlisters.ClusterLister
	members   *hub.Members
	hubID     func(ctx context.Context) (string, error)
	synced    []cache.InformerSynced
	queue     *controller.Queue
	watches   *watches
	// Retry is how soon a member that could not be synced is synced again.
	Retry time.Duration
	// Resync is how often every member is synced even without a change.
	Resync time.Duration
	now    func() time.Time
}

// New returns the controller; Run starts it. hubID names this hub on the copies: it must
// stay the same across restarts and replicas.
func New(config versioned.Interface, accounts configinformers.AccountInformer, quotas configinformers.AccountQuotaInformer,
	templates configinformers.TemplateInformer, clusters configinformers.ClusterInformer, members *hub.Members,
	hubID func(ctx context.Context) (string, error)) (*Controller, error) {
	c := &Controller{config: config, accounts: accounts.Lister(), quotas: quotas.Lister(), templates: templates.Lister(),
		clusters: clusters.Lister(), members: members, hubID: hubID, Retry: 5 * time.Second, Resync: time.Minute, now: time.Now,
		synced: []cache.InformerSynced{accounts.Informer().HasSynced, quotas.Informer().HasSynced,
			templates.Informer().HasSynced, clusters.Informer().HasSynced}}
	c.queue = controller.NewQueue(Name, c.Sync)
	c.watches = newWatches(c.queue.Add)
	// Any change of an Account, AccountQuota or Template may change what any member holds;
	// members are few, and a sync that finds nothing to do writes nothing.
	all := func(interface{}) {
		for _, name := range c.members.Names() {
			c.queue.Add(name)
		}
	}
	for _, inf := range []cache.SharedIndexInformer{accounts.Informer(), quotas.Informer(), templates.Informer()} {
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc: all, UpdateFunc: func(_, obj interface{}) { all(obj) }, DeleteFunc: all,
		}); err != nil {
			return nil, err
		}
	}
	one := func(obj interface{}) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			c.queue.Add(key)
		}
	}
	if _, err := clusters.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: one, UpdateFunc: func(_, obj interface{}) { one(obj) }, DeleteFunc: one,
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Run syncs the members with workers until ctx is done.
func (c *Controller) Run(ctx context.Context, workers int) {
	defer c.watches.stopAll()
	c.queue.Run(ctx, workers, c.synced...)
}

// Sync makes member name hold the copies the hub's Accounts want there, and writes the
// result to the status of the Accounts that select it.
func (c *Controller) Sync(ctx context.Context, name string) error {
	cl, err := c.clusters.Get(name)
	if apierrors.IsNotFound(err) {
		// The hub no longer reaches the member: its copies stay there, unmanaged.
		c.watches.stop(name)
		return c.writeStatus(ctx, name, nil, nil)
	}
	if err != nil {
		return err
	}
	id, err := c.hubID(ctx)
	if err != nil {
		return fmt.Errorf("naming the hub: %w", err)
	}
	accounts, err := c.accounts.List(labels.Everything())
	if err != nil {
		return err
	}
	quotas, err := c.quotas.List(labels.Everything())
	if err != nil {
		return err
	}
	templates, err := c.templates.List(labels.Everything())
	if err != nil {
		return err
	}
	want := Want(id, cl, accounts, quotas, templates)
	memberCtx, cancel := context.WithTimeout(ctx, memberTimeout)
	defer cancel()
	problems, err := c.syncMember(memberCtx, cl, id, want)
	if err != nil {
		klog.FromContext(ctx).Info("Member not synced; retrying", "cluster", name, "err", err.Error())
		c.queue.AddAfter(name, c.Retry)
		return c.writeStatus(ctx, name, want.Selecting, map[string][]string{"": {err.Error()}})
	}
	c.queue.AddAfter(name, c.Resync)
	byAccount := map[string][]string{}
	for ref, msg := range problems {
		for _, a := range want.Owners[ref] {
			byAccount[a] = append(byAccount[a], msg)
		}
	}
	if len(problems) > 0 {
		c.queue.AddAfter(name, c.Retry)
	}
	return c.writeStatus(ctx, name, want.Selecting, byAccount)
}

// syncMember writes want into the member, and watches the member's copies so that a change
// there is reverted at once.
func (c *Controller) syncMember(ctx context.Context, cl *configv1alpha1.Cluster, id string, want Copies) (map[Ref]string, error) {
	cfg, err := c.members.Config(ctx, cl.Name)
	if err != nil {
		return nil, err
	}
	client, err := versioned.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	c.watches.ensure(cl.Name, id, cfg)
	problems := map[Ref]string{}
	collect := func(kind string, p map[string]string, err error) error {
		for name, msg := range p {
			problems[Ref{kind, name}] = msg
		}
		return err
	}
	// Templates and AccountQuotas before the Accounts that use them, so that a new Account's
	// first Space finds its Templates; deletions are in the same order, which is harmless.
	p, err := reconcile(ctx, templateKind(client), id, want.Templates)
	if err := collect("Template", p, err); err != nil {
		return nil, err
	}
	p, err = reconcile(ctx, quotaKind(client), id, want.Quotas)
	if err := collect("AccountQuota", p, err); err != nil {
		return nil, err
	}
	p, err = reconcile(ctx, accountKind(client), id, want.Accounts)
	if err := collect("Account", p, err); err != nil {
		return nil, err
	}
	return problems, nil
}

// writeStatus sets, on every hub Account, the entry of member cluster in status.clusters:
// present for the Accounts in selecting, synced unless problems names them (problems[""]
// applies to all), absent from the others.
func (c *Controller) writeStatus(ctx context.Context, cluster string, selecting []string, problems map[string][]string) error {
	accounts, err := c.accounts.List(labels.Everything())
	if err != nil {
		return err
	}
	sel := map[string]bool{}
	for _, a := range selecting {
		sel[a] = true
	}
	var errs []string
	for _, a := range accounts {
		msgs := append(append([]string{}, problems[""]...), problems[a.Name]...)
		sort.Strings(msgs)
		entry := configv1alpha1.AccountClusterStatus{Name: cluster, Synced: len(msgs) == 0, Message: strings.Join(msgs, "; ")}
		if !sel[a.Name] && indexOf(a.Status.Clusters, cluster) < 0 {
			continue
		}
		if sel[a.Name] {
			if i := indexOf(a.Status.Clusters, cluster); i >= 0 && sameEntry(a.Status.Clusters[i], entry) {
				continue
			}
		}
		if err := c.setEntry(ctx, a.Name, entry, sel[a.Name]); err != nil {
			errs = append(errs, err.Error())
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("writing the status of Accounts for cluster %q: %s", cluster, strings.Join(errs, "; "))
	}
	return nil
}

// setEntry writes one entry of an Account's status.clusters (or removes it), reading the
// Account afresh on a conflict.
func (c *Controller) setEntry(ctx context.Context, account string, entry configv1alpha1.AccountClusterStatus, present bool) error {
	accounts := c.config.ConfigV1alpha1().Accounts()
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		a, err := accounts.Get(ctx, account, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		i := indexOf(a.Status.Clusters, entry.Name)
		switch {
		case !present && i < 0:
			return nil
		case !present:
			a.Status.Clusters = append(a.Status.Clusters[:i], a.Status.Clusters[i+1:]...)
		case i >= 0 && sameEntry(a.Status.Clusters[i], entry):
			return nil
		default:
			entry.LastSyncTime = metav1.NewTime(c.now().Truncate(time.Second))
			if !entry.Synced && i >= 0 {
				entry.LastSyncTime = a.Status.Clusters[i].LastSyncTime
			} else if !entry.Synced {
				entry.LastSyncTime = metav1.Time{}
			}
			if i >= 0 {
				a.Status.Clusters[i] = entry
			} else {
				a.Status.Clusters = append(a.Status.Clusters, entry)
				sort.Slice(a.Status.Clusters, func(x, y int) bool { return a.Status.Clusters[x].Name < a.Status.Clusters[y].Name })
			}
		}
		_, err = accounts.UpdateStatus(ctx, a, metav1.UpdateOptions{FieldManager: configv1alpha1.FieldManager})
		return err
	})
}

func indexOf(l []configv1alpha1.AccountClusterStatus, name string) int {
	for i := range l {
		if l[i].Name == name {
			return i
		}
	}
	return -1
}

func sameEntry(a, b configv1alpha1.AccountClusterStatus) bool {
	return a.Synced == b.Synced && a.Message == b.Message
}

// watches are the watches of the copies in each member.
type watches struct {
	enqueue func(string)
	mu      sync.Mutex
	byName  map[string]*memberWatch
}

func newWatches(enqueue func(string)) *watches {
	return &watches{enqueue: enqueue, byName: map[string]*memberWatch{}}
}

func (w *watches) stop(name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if m, ok := w.byName[name]; ok {
		m.cancel()
		delete(w.byName, name)
	}
}

func (w *watches) stopAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for name, m := range w.byName {
		m.cancel()
		delete(w.byName, name)
	}
}
