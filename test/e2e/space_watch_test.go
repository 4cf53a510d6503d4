package e2e

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	tenancyv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// A client-go informer on Spaces, run by a user who is no admin, sees ADDED when a
// RoleBinding grants access and DELETED when it is deleted, each within a second, from one
// long watch, never starting over.
func TestSpaceInformerFollowsGrantsAndRevocations(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	user, ns := framework.UniqueName("watcher"), framework.UniqueName("watched")
	admin := cluster.AdminClients(t)
	labelledNamespaces(t, admin, "nobody", ns)

	spaces := cluster.ClientsAs(t, user).Kiosk.TenancyV1alpha1().Spaces()
	var lists, watches atomic.Int32
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, options metav1.ListOptions) (runtime.Object, error) {
			lists.Add(1)
			return spaces.List(ctx, options)
		},
		WatchFuncWithContext: func(ctx context.Context, options metav1.ListOptions) (watch.Interface, error) {
			watches.Add(1)
			return spaces.Watch(ctx, options)
		},
	}
	events := make(chan string, 16)
	informer := cache.NewSharedIndexInformer(lw, &tenancyv1alpha1.Space{}, 0, cache.Indexers{})
	_, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) { events <- "ADDED " + obj.(*tenancyv1alpha1.Space).Name },
		DeleteFunc: func(obj interface{}) {
			if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tombstone.Obj
			}
			events <- "DELETED " + obj.(*tenancyv1alpha1.Space).Name
		},
	})
	require.NoError(t, err)
	go informer.RunWithContext(ctx)
	require.True(t, cache.WaitForCacheSync(ctx.Done(), informer.HasSynced))
	assert.Empty(t, informer.GetStore().List(), "the user sees no Space yet")

	expect := func(want string, action func()) {
		t.Helper()
		start := time.Now()
		action()
		select {
		case got := <-events:
			assert.Equal(t, want, got)
			elapsed := time.Since(start)
			t.Logf("%s after %s", want, elapsed)
			assert.Less(t, elapsed, time.Second, want)
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s", want)
		}
	}
	rbac := admin.Kube.RbacV1().RoleBindings(ns)
	expect("ADDED "+ns, func() {
		_, err := rbac.Create(ctx, viewBinding("watcher", user), metav1.CreateOptions{})
		require.NoError(t, err)
	})
	expect("DELETED "+ns, func() { require.NoError(t, rbac.Delete(ctx, "watcher", metav1.DeleteOptions{})) })
	// client-go starts with a list, or with a watch that streams the initial state
	// (sendInitialEvents); either way it must never have had to start over.
	assert.LessOrEqual(t, lists.Load(), int32(1), "lists")
	assert.Equal(t, int32(1), watches.Load(), "the informer kept its one watch")
}

// A watch from a resourceVersion older than the server keeps answers 410 Gone, and one far
// ahead of it answers a retryable timeout, as kube-apiserver does.
func TestSpaceWatchResourceVersions(t *testing.T) {
	kiosk := cluster.AdminClients(t).Kiosk.TenancyV1alpha1()
	spaces := kiosk.Spaces()
	ctx := context.Background()
	list, err := spaces.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.NotEmpty(t, list.ResourceVersion)

	w, err := spaces.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	require.NoError(t, err, "a watch from the list's resourceVersion")
	w.Stop()

	_, err = spaces.Watch(ctx, metav1.ListOptions{ResourceVersion: "1"})
	require.Error(t, err)
	assert.True(t, apierrors.IsResourceExpired(err) || apierrors.IsGone(err), "got %v", err)

	// client-go would retry a timeout; ask once.
	start := time.Now()
	_, err = kiosk.RESTClient().Get().Resource("spaces").Param("watch", "true").
		Param("resourceVersion", "999999999999").MaxRetries(0).Watch(ctx)
	require.Error(t, err)
	assert.Less(t, time.Since(start), 10*time.Second)
	assert.True(t, apierrors.IsTimeout(err), "got %v", err)
}

// A user watching tenancy.kiosk.sh Accounts sees an Account appear when made one of its
// subjects and disappear when removed from them.
func TestAccountWatchFollowsSubjects(t *testing.T) {
	ctx := context.Background()
	user, name := framework.UniqueName("member"), framework.UniqueName("team")
	admin := cluster.AdminClients(t).Kiosk.ConfigV1alpha1().Accounts()
	t.Cleanup(func() { deleted(t, "Account "+name, admin.Delete(context.Background(), name, metav1.DeleteOptions{})) })

	accounts := cluster.ClientsAs(t, user).Kiosk.TenancyV1alpha1().Accounts()
	list, err := accounts.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	w, err := accounts.Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	require.NoError(t, err)
	defer w.Stop()

	next := func() (watch.EventType, string) {
		t.Helper()
		select {
		case ev := <-w.ResultChan():
			m, ok := ev.Object.(metav1.Object)
			require.True(t, ok, "event %v", ev)
			return ev.Type, m.GetName()
		case <-time.After(10 * time.Second):
			t.Fatal("no event")
		}
		return "", ""
	}
	subject := rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: user}
	created, err := admin.Create(ctx, &configv1alpha1.Account{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: configv1alpha1.AccountSpec{Subjects: []rbacv1.Subject{subject}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	typ, got := next()
	assert.Equal(t, watch.Added, typ)
	assert.Equal(t, name, got)

	created.Spec.Subjects = []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: "someone-else"}}
	_, err = admin.Update(ctx, created, metav1.UpdateOptions{})
	require.NoError(t, err)
	typ, got = next()
	assert.Equal(t, watch.Deleted, typ)
	assert.Equal(t, name, got)
}
