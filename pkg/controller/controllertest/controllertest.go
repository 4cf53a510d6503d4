// Package controllertest runs controllers in unit tests against fake clientsets, with real
// informers: a dynamic client that applies with server-side apply, a REST mapper of the
// built-in kinds, informer start-up and polling.
package controllertest

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/meta/testrestmapper"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubeinformers "k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	clienttesting "k8s.io/client-go/testing"

	configfake "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned/fake"
	configscheme "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned/scheme"
	configinformers "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/informers/externalversions"
)

// Timeout bounds every wait of a controller test.
const Timeout = 10 * time.Second

// Tick is how often a wait polls.
const Tick = 5 * time.Millisecond

// InitialResourceVersion is the resourceVersion of the config objects a test starts with;
// Storage's writes come after it.
const InitialResourceVersion = "1"

// Env is what a controller under test runs on: fake clientsets, and informer factories
// over them.
type Env struct {
	Kube            *kubefake.Clientset
	Config          *configfake.Clientset
	KubeInformers   kubeinformers.SharedInformerFactory
	ConfigInformers configinformers.SharedInformerFactory
	// Ctx ends with the test; set by Start.
	Ctx context.Context
}

// NewEnv returns clientsets holding objs (see Clientsets) and informer factories over them,
// not started: reactors and the controller's informers go in before Start.
func NewEnv(objs ...runtime.Object) *Env {
	kube, config := Clientsets(objs...)
	config.PrependReactor("*", "*", Storage(config.Tracker()))
	return &Env{Kube: kube, Config: config,
		KubeInformers:   kubeinformers.NewSharedInformerFactory(kube, 0),
		ConfigInformers: configinformers.NewSharedInformerFactory(config, 0)}
}

// Start starts the informers and waits until they have synced.
func (e *Env) Start(t *testing.T) {
	t.Helper()
	e.Ctx = Start(t, e.KubeInformers, e.ConfigInformers)
}

// Clientsets returns fake clientsets holding objs: the config.kiosk.sh kinds in the config
// clientset, the kinds of client-go in the kube clientset. The kube clientset is
// field-managed (kubefake.NewClientset), so that Dynamic can apply; the config clientset
// stores objects as they are written, managedFields included, as the charge window of
// AccountQuotas needs, and its objects without a resourceVersion get
// InitialResourceVersion.
func Clientsets(objs ...runtime.Object) (*kubefake.Clientset, *configfake.Clientset) {
	var kubeObjs, configObjs []runtime.Object
	for _, o := range objs {
		if _, _, err := configscheme.Scheme.ObjectKinds(o); err == nil {
			o = o.DeepCopyObject()
			if m, err := meta.Accessor(o); err == nil && m.GetResourceVersion() == "" {
				m.SetResourceVersion(InitialResourceVersion)
			}
			configObjs = append(configObjs, o)
		} else {
			kubeObjs = append(kubeObjs, o)
		}
	}
	return kubefake.NewClientset(kubeObjs...), configfake.NewSimpleClientset(configObjs...)
}

// Storage makes creates and updates through a fake clientset behave as kube-apiserver's
// storage does, which the fakes' trackers do not: every write sets a new
// metadata.resourceVersion, an update from a stale resourceVersion fails with Conflict,
// an update of an object keeps its stored status, and an update of status keeps
// everything else. Without it a controller that writes status from its cache would seem
// to set the spec back, and resourceVersions would all be empty.
func Storage(tracker clienttesting.ObjectTracker) clienttesting.ReactionFunc {
	var mu sync.Mutex
	version, _ := strconv.ParseInt(InitialResourceVersion, 10, 64)
	// store gives obj the next resourceVersion, writes it and reads it back.
	store := func(gvr schema.GroupVersionResource, ns string, obj runtime.Object,
		write func(schema.GroupVersionResource, runtime.Object, string, ...metav1.UpdateOptions) error) (bool, runtime.Object, error) {
		m, err := meta.Accessor(obj)
		if err != nil {
			return true, nil, err
		}
		version++
		m.SetResourceVersion(strconv.FormatInt(version, 10))
		if err := write(gvr, obj, ns); err != nil {
			return true, nil, err
		}
		out, err := tracker.Get(gvr, ns, m.GetName())
		return true, out, err
	}
	return func(action clienttesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		gvr, ns := action.GetResource(), action.GetNamespace()
		a, ok := action.(clienttesting.CreateAction) // an UpdateAction too: the same methods
		if !ok {
			return false, nil, nil
		}
		switch {
		case action.GetVerb() == "create" && a.GetSubresource() == "":
			return store(gvr, ns, a.GetObject().DeepCopyObject(), func(gvr schema.GroupVersionResource, obj runtime.Object, ns string, _ ...metav1.UpdateOptions) error {
				return tracker.Create(gvr, obj, ns)
			})
		case action.GetVerb() == "update" && (a.GetSubresource() == "" || a.GetSubresource() == "status"):
			merged, err := updated(tracker, gvr, ns, a.GetObject(), a.GetSubresource() == "status")
			if err != nil {
				return true, nil, err
			}
			return store(gvr, ns, merged, tracker.Update)
		}
		return false, nil, nil
	}
}

// updated is what an update of sent (of its status only, for statusWrite) stores, or
// Conflict when sent is not from the stored resourceVersion.
func updated(tracker clienttesting.ObjectTracker, gvr schema.GroupVersionResource, ns string, sent runtime.Object, statusWrite bool) (runtime.Object, error) {
	sentMeta, err := meta.Accessor(sent)
	if err != nil {
		return nil, err
	}
	stored, err := tracker.Get(gvr, ns, sentMeta.GetName())
	if err != nil {
		return nil, err
	}
	storedMeta, err := meta.Accessor(stored)
	if err != nil {
		return nil, err
	}
	if rv := sentMeta.GetResourceVersion(); rv != "" && rv != storedMeta.GetResourceVersion() {
		return nil, apierrors.NewConflict(gvr.GroupResource(), sentMeta.GetName(),
			fmt.Errorf("the object has been modified: resourceVersion %s is not the stored %s", rv, storedMeta.GetResourceVersion()))
	}
	return keepStatus(stored, sent, statusWrite)
}

// keepStatus is sent with the status of stored or, for a status write, stored with the
// status of sent.
func keepStatus(stored, sent runtime.Object, statusWrite bool) (runtime.Object, error) {
	base, from := sent, stored
	if statusWrite {
		base, from = stored, sent
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(base)
	if err != nil {
		return nil, err
	}
	status, err := runtime.DefaultUnstructuredConverter.ToUnstructured(from)
	if err != nil {
		return nil, err
	}
	if s, ok := status["status"]; ok {
		content["status"] = s
	} else {
		delete(content, "status")
	}
	out := reflect.New(reflect.TypeOf(stored).Elem()).Interface().(runtime.Object)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(content, out); err != nil {
		return nil, fmt.Errorf("merging the status of %T: %w", stored, err)
	}
	return out, nil
}

// Dynamic returns a dynamic client over the objects of kube, which must come from
// kubefake.NewClientset: reads and writes through either client see the same objects, and
// server-side apply (create on first apply, field managers, conflicts) works as the typed
// fake does it, which NewSimpleDynamicClient's tracker cannot.
func Dynamic(kube *kubefake.Clientset) *dynamicfake.FakeDynamicClient {
	dyn := dynamicfake.NewSimpleDynamicClient(runtime.NewScheme())
	react := clienttesting.ObjectReaction(kube.Tracker())
	dyn.PrependReactor("*", "*", func(action clienttesting.Action) (bool, runtime.Object, error) {
		handled, obj, err := react(action)
		if err != nil || obj == nil {
			return handled, obj, err
		}
		u, err := toUnstructured(obj)
		return handled, u, err
	})
	return dyn
}

func toUnstructured(obj runtime.Object) (runtime.Object, error) {
	if _, ok := obj.(runtime.Unstructured); ok {
		return obj, nil
	}
	gvks, _, err := scheme.Scheme.ObjectKinds(obj)
	if err != nil {
		return nil, fmt.Errorf("the kind of %T: %w", obj, err)
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, fmt.Errorf("converting %T: %w", obj, err)
	}
	if _, ok := content["items"]; ok {
		return nil, fmt.Errorf("lists of %s are not served by this dynamic client", gvks[0].Kind)
	}
	u := &unstructured.Unstructured{Object: content}
	u.SetGroupVersionKind(gvks[0])
	return u, nil
}

// Mapper is a REST mapper of the kinds client-go knows, which Reset leaves as they are.
type Mapper struct{ meta.RESTMapper }

// Reset does nothing: the kinds are fixed.
func (Mapper) Reset() {}

// NewMapper returns the REST mapper of client-go's built-in kinds.
func NewMapper() Mapper {
	return Mapper{testrestmapper.TestOnlyStaticRESTMapper(scheme.Scheme)}
}

// Factory is an informer factory: client-go's, or the generated one of this repository.
type Factory interface {
	Start(stopCh <-chan struct{})
	WaitForCacheSync(stopCh <-chan struct{}) map[reflect.Type]bool
	Shutdown()
}

// Start starts the factories' informers and waits until they have synced; at the end of
// the test it stops them and waits until they have stopped.
func Start(t *testing.T, factories ...Factory) context.Context {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	for _, f := range factories {
		t.Cleanup(f.Shutdown) // after cancel: waits for the informers to stop
	}
	t.Cleanup(cancel)
	for _, f := range factories {
		f.Start(ctx.Done())
	}
	for _, f := range factories {
		for typ, ok := range f.WaitForCacheSync(ctx.Done()) {
			if !ok {
				t.Fatalf("the informer of %v did not sync", typ)
			}
		}
	}
	return ctx
}

// Run runs a controller's Run until the end of the test, and waits for it to return.
func Run(t *testing.T, ctx context.Context, run func(ctx context.Context, workers int)) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		run(ctx, 1)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// Eventually polls check until it passes, failing the test after Timeout with what the
// last check found.
func Eventually(t *testing.T, check func(c *assert.CollectT)) {
	t.Helper()
	require.EventuallyWithT(t, check, Timeout, Tick)
}
