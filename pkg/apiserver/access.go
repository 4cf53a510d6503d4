package apiserver

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	configinformers "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/informers/externalversions"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/scheme"
)

// accessFeed keeps the access index in line with kube-apiserver's namespaces and RBAC
// objects and with this server's Accounts.
type accessFeed struct {
	index  *access.Index
	synced []cache.DoneChecker
	// ready is closed once the index is ready.
	ready chan struct{}
}

// handler turns informer events on one kind into index changes. upsert gets the new
// object; remove gets the last known one.
func handler[T metav1.Object](upsert func(T), remove func(T)) cache.ResourceEventHandlerFuncs {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) {
			if o, ok := obj.(T); ok {
				upsert(o)
			}
		},
		UpdateFunc: func(oldObj, newObj interface{}) {
			o, ok := newObj.(T)
			old, oldOK := oldObj.(T)
			if !ok || (oldOK && old.GetResourceVersion() == o.GetResourceVersion()) {
				return // a resync changes nothing
			}
			upsert(o)
		},
		DeleteFunc: func(obj interface{}) {
			if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tombstone.Obj
			}
			if o, ok := obj.(T); ok {
				remove(o)
			}
		},
	}
}

// After a change of cluster-wide RBAC, the cluster-wide decisions of open watches are taken
// at once and again after each of clusterRecheckAfter, and none is cached for
// clusterSettle: kube-apiserver's authorizer may see the change a moment after the access
// index.
var clusterRecheckAfter = []time.Duration{50 * time.Millisecond, clusterSettle}

const clusterSettle = 500 * time.Millisecond

func newAccessFeed(x *access.Index, kube informers.SharedInformerFactory, cfg configinformers.SharedInformerFactory) (*accessFeed, error) {
	f := &accessFeed{index: x, ready: make(chan struct{})}
	add := func(informer cache.SharedIndexInformer, h cache.ResourceEventHandler) error {
		reg, err := informer.AddEventHandler(h)
		if err != nil {
			return err
		}
		f.synced = append(f.synced, reg.HasSyncedChecker())
		return nil
	}
	rbac := kube.Rbac().V1()
	err := firstError(
		add(kube.Core().V1().Namespaces().Informer(), handler(
			func(ns *corev1.Namespace) {
				if _, isSpace := ns.Labels[configv1alpha1.AccountLabel]; isSpace {
					x.UpsertSpace(ns)
				} else {
					x.DeleteSpace(ns.Name, ns.ResourceVersion)
				}
			},
			func(ns *corev1.Namespace) { x.DeleteSpace(ns.Name, ns.ResourceVersion) })),
		add(rbac.ClusterRoles().Informer(), handler(x.UpsertClusterRole,
			func(o *rbacv1.ClusterRole) { x.DeleteClusterRole(o.Name, o.ResourceVersion) })),
		add(rbac.ClusterRoleBindings().Informer(), handler(x.UpsertClusterRoleBinding,
			func(o *rbacv1.ClusterRoleBinding) { x.DeleteClusterRoleBinding(o.Name, o.ResourceVersion) })),
		add(rbac.Roles().Informer(), handler(x.UpsertRole,
			func(o *rbacv1.Role) { x.DeleteRole(o.Namespace, o.Name, o.ResourceVersion) })),
		add(rbac.RoleBindings().Informer(), handler(x.UpsertRoleBinding,
			func(o *rbacv1.RoleBinding) { x.DeleteRoleBinding(o.Namespace, o.Name, o.ResourceVersion) })),
		add(cfg.Config().V1alpha1().Accounts().Informer(), handler(
			func(a *configv1alpha1.Account) {
				internal := &config.Account{}
				if err := scheme.Scheme.Convert(a, internal, nil); err != nil {
					klog.ErrorS(err, "Converting an Account for the access index", "account", a.Name)
					return
				}
				x.UpsertAccount(a.Name, internal, internal.Spec.Subjects, a.ResourceVersion)
			},
			func(a *configv1alpha1.Account) { x.DeleteAccount(a.Name, a.ResourceVersion) })),
	)
	if err != nil {
		return nil, fmt.Errorf("watching for the access index: %w", err)
	}
	return f, nil
}

// run marks the index ready as soon as every informer has delivered what existed at start
// (without polling, which would add up to its period to every start).
func (f *accessFeed) run(ctx context.Context) {
	if !cache.WaitFor(ctx, "", f.synced...) {
		return
	}
	f.index.MarkReady()
	close(f.ready)
	klog.InfoS("Access index ready",
		"spaces", f.index.Spaces().Snapshot().Len(), "accounts", f.index.Accounts().Snapshot().Len())
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
