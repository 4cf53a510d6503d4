package pod

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	corelisters "k8s.io/client-go/listers/core/v1"
	schedulinglisters "k8s.io/client-go/listers/scheduling/v1"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/listers/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/isolation"
)

// Listers answers isolation's questions about the cluster from informer caches.
type Listers struct {
	Nodes           corelisters.NodeLister
	PriorityClasses schedulinglisters.PriorityClassLister
}

var _ isolation.Cluster = Listers{}

// Node is node name from the cache, nil when there is none.
func (l Listers) Node(name string) (*corev1.Node, error) {
	n, err := l.Nodes.Get(name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return n, err
}

// PriorityClass is PriorityClass name from the cache, nil when there is none.
func (l Listers) PriorityClass(name string) (*schedulingv1.PriorityClass, error) {
	pc, err := l.PriorityClasses.Get(name)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return pc, err
}

// Accounts reads Accounts from the informer's cache, and from the storage those the cache
// does not hold yet (an Account created a moment ago).
type Accounts struct {
	Lister  v1alpha1.AccountLister
	Storage AccountGetter
}

// Get returns Account name.
func (a Accounts) Get(ctx context.Context, name string) (*configv1alpha1.Account, error) {
	account, err := a.Lister.Get(name)
	if apierrors.IsNotFound(err) && a.Storage != nil {
		return a.Storage.Get(ctx, name)
	}
	return account, err
}
