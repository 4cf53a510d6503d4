package hubaccount

import (
	"context"
	"crypto/sha256"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/informers/externalversions"
)

// watchResync is how often a member's watched copies are handed to the queue again.
const watchResync = 5 * time.Minute

// memberWatch watches the hub's copies in one member: every change there queues the member,
// whose sync reverts it.
type memberWatch struct {
	key    string
	cancel context.CancelFunc
}

// ensure watches the copies of member name labelled with hub, through cfg, unless that
// watch runs already. A change of the member's address or of the hub's credentials starts
// the watch anew.
func (w *watches) ensure(name, hub string, cfg *rest.Config) {
	key := watchKey(hub, cfg)
	w.mu.Lock()
	defer w.mu.Unlock()
	if m, ok := w.byName[name]; ok {
		if m.key == key {
			return
		}
		m.cancel()
	}
	client, err := versioned.NewForConfig(cfg)
	if err != nil {
		klog.ErrorS(err, "Watching the hub's copies in a member", "cluster", name)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	factory := externalversions.NewSharedInformerFactoryWithOptions(client, watchResync,
		externalversions.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.LabelSelector = configv1alpha1.HubLabel + "=" + hub
		}))
	changed := func(interface{}) { w.enqueue(name) }
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc: changed, UpdateFunc: func(_, obj interface{}) { changed(obj) }, DeleteFunc: changed,
	}
	v := factory.Config().V1alpha1()
	for _, inf := range []cache.SharedIndexInformer{v.Accounts().Informer(), v.AccountQuotas().Informer(), v.Templates().Informer()} {
		if _, err := inf.AddEventHandler(handler); err != nil {
			klog.ErrorS(err, "Watching the hub's copies in a member", "cluster", name)
		}
	}
	factory.Start(ctx.Done())
	// Stopping never waits for the informers to return: it may be called with w.mu held.
	w.byName[name] = &memberWatch{key: key, cancel: func() { cancel(); go factory.Shutdown() }}
}

// watchKey identifies what a watch was started with: the hub's label, the member's address
// and CA, and the hub's credentials (hashed, never kept).
func watchKey(hub string, cfg *rest.Config) string {
	h := sha256.New()
	for _, part := range [][]byte{[]byte(hub), []byte(cfg.Host), cfg.CAData, []byte(cfg.BearerToken), cfg.CertData, cfg.KeyData} {
		_, _ = fmt.Fprintf(h, "%d:", len(part))
		_, _ = h.Write(part)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}
