// Package controllertest runs controllers in unit tests against fake clientsets, with real
// informers: a dynamic client that applies with server-side apply, a REST mapper of the
// built-in kinds, informer start-up and polling.
package controllertest

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/meta/testrestmapper"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	clienttesting "k8s.io/client-go/testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Timeout bounds every wait of a controller test.
const Timeout = 10 * time.Second

// Tick is how often a wait polls.
const Tick = 5 * time.Millisecond

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
}

// Start starts the factories' informers, waits until they have synced, and stops them at
// the end of the test.
func Start(t *testing.T, factories ...Factory) context.Context {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
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
