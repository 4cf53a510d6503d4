package e2e

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/leaderelection"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// The server's leader-election defaults (--leader-elect-lease-duration,
// --leader-elect-retry-period).
const (
	leaseDuration = 15 * time.Second
	retryPeriod   = 2 * time.Second
)

// failoverBound is the longest leadership may take to move when the leader is gone without
// releasing the Lease: a follower sees the last renewal at most one jittered retry period
// late, waits the lease duration from then, and tries again at most one jittered retry
// period later. One second more covers the test's own polling.
const failoverBound = leaseDuration + 2*time.Duration(float64(retryPeriod)*(1+leaderelection.JitterFactor)) + time.Second

// haPodsPerSpace is how many Pods each Space of the test holds before the failovers.
const haPodsPerSpace = 2

// Two replicas on one etcd that outlives either: stopping the leader (SIGTERM, as a rolling
// update does) and then crashing the next one (SIGKILL) moves the controllers' Lease to the
// other replica within the lease time; both replicas list the same Spaces, Accounts and
// AccountQuotas; every Account survives; and each AccountQuota still charges every Pod made
// before: its status counts them and it admits exactly what is left of hard.
func TestReplicaFailover(t *testing.T) {
	replicas := cluster.SharedReplicas(t, 2)
	// How each starts again: replica 0 may embed the etcd by default.
	restart := map[int][]string{0: cluster.EtcdFlags(t), replicas[1].Index: nil}

	kube := cluster.AdminClients(t).Kube
	accounts := haAccounts(t, 2, 2)
	for _, a := range accounts {
		for _, s := range a.spaces {
			for i := range haPodsPerSpace {
				_, err := kube.CoreV1().Pods(s).Create(context.Background(), haPod(fmt.Sprintf("before-%d", i)), metav1.CreateOptions{})
				require.NoError(t, err, "a Pod within the AccountQuota")
			}
		}
	}
	listsAgree(t, replicas, accounts)

	for _, how := range []string{"stopped", "killed"} {
		leader := leaderOf(t, replicas)
		follower := replicas[1-indexOf(replicas, leader)]
		old, next := leader.Identity(t), follower.Identity(t)
		// Watch the Lease from before the stop: a graceful stop hands it over before the
		// process has exited.
		moved := make(chan time.Duration, 1)
		var watchErr error // written before moved is closed
		ctx, cancel := context.WithTimeout(context.Background(), 2*failoverBound)
		start := time.Now()
		go func() {
			defer close(moved)
			watchErr = wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
				h, err := framework.ReadLeaseHolder(ctx, kube)
				if err == nil && h == next {
					moved <- time.Since(start)
					return true, nil
				}
				return false, nil
			})
		}()
		if how == "stopped" {
			leader.Stop(t)
		} else {
			leader.Kill(t)
		}
		took, ok := <-moved
		cancel()
		require.True(t, ok, "replica %d did not take the Lease from replica %d (%s) within %s, holder %q: %v",
			follower.Index, leader.Index, old, 2*failoverBound, cluster.LeaseHolder(t), watchErr)
		t.Logf("leader replica %d %s: replica %d leads after %s (bound %s: lease %s, retry period %s)",
			leader.Index, how, follower.Index, took.Round(10*time.Millisecond), failoverBound, leaseDuration, retryPeriod)
		assert.LessOrEqual(t, took, failoverBound, "leadership moved within the lease time")

		// The new leader's AccountQuota controller counts every Pod made before.
		quotasCount(t, follower, accounts, haPodsPerSpace)
		leader.Start(t, restart[leader.Index]...)
		if leader.Index == 0 {
			require.NoError(t, cluster.WaitAPIServicesAvailable(context.Background(), 2*time.Minute))
		}
		listsAgree(t, replicas, accounts)
	}

	// No charge was lost: each quota admits exactly what is left of its hard limit.
	for _, a := range accounts {
		left := a.hard - haPodsPerSpace*len(a.spaces)
		for i := range left {
			_, err := kube.CoreV1().Pods(a.spaces[0]).Create(context.Background(), haPod(fmt.Sprintf("after-%d", i)), metav1.CreateOptions{})
			require.NoError(t, err, "Pod %d of the %d left in AccountQuota %s", i+1, left, a.name)
		}
		_, err := kube.CoreV1().Pods(a.spaces[0]).Create(context.Background(), haPod("over"), metav1.CreateOptions{})
		require.True(t, apierrors.IsForbidden(err), "a Pod over AccountQuota %s: %v", a.name, err)
		assert.Contains(t, err.Error(), "exceeded quota: "+a.name)
	}
}

// haAccount is an Account of the failover test with its Spaces and AccountQuota (same name).
type haAccount struct {
	name   string
	spaces []string
	hard   int
}

// haAccounts makes n Accounts with spaces Spaces each and an AccountQuota of one Pod more than
// the test puts in them, and removes them when the test ends.
func haAccounts(t *testing.T, n, spaces int) []haAccount {
	ctx := context.Background()
	admin := cluster.AdminClients(t)
	var out []haAccount
	for range n {
		a := haAccount{name: framework.UniqueName("e2e-ha"), hard: haPodsPerSpace*spaces + 1}
		_, err := admin.Kiosk.ConfigV1alpha1().Accounts().Create(ctx, &configv1alpha1.Account{
			ObjectMeta: metav1.ObjectMeta{Name: a.name},
			Spec:       configv1alpha1.AccountSpec{Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: "rbac.authorization.k8s.io", Name: a.name + "-user"}}},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		_, err = admin.Kiosk.ConfigV1alpha1().AccountQuotas().Create(ctx, &configv1alpha1.AccountQuota{
			ObjectMeta: metav1.ObjectMeta{Name: a.name},
			Spec: configv1alpha1.AccountQuotaSpec{Account: a.name, Quota: corev1.ResourceQuotaSpec{
				Hard: corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(int64(a.hard), resource.DecimalSI)}}},
		}, metav1.CreateOptions{})
		require.NoError(t, err)
		for i := range spaces {
			s := fmt.Sprintf("%s-%d", a.name, i)
			cluster.Admin().Apply(t, space(s, a.name)).Success(t)
			a.spaces = append(a.spaces, s)
		}
		t.Cleanup(func() {
			for _, s := range a.spaces {
				deleted(t, "Namespace "+s, admin.Kube.CoreV1().Namespaces().Delete(context.Background(), s, metav1.DeleteOptions{}))
			}
			deleted(t, "AccountQuota "+a.name, admin.Kiosk.ConfigV1alpha1().AccountQuotas().Delete(context.Background(), a.name, metav1.DeleteOptions{}))
			deleted(t, "Account "+a.name, admin.Kiosk.ConfigV1alpha1().Accounts().Delete(context.Background(), a.name, metav1.DeleteOptions{}))
		})
		eventually(t, "AccountQuota "+a.name+" covers its Spaces", func(ctx context.Context) bool {
			q, err := admin.Kiosk.ConfigV1alpha1().AccountQuotas().Get(ctx, a.name, metav1.GetOptions{})
			return err == nil && len(q.Status.Namespaces) == spaces
		})
		out = append(out, a)
	}
	return out
}

func haPod(name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}}
}

// leaderOf is the replica that holds the controllers' Lease.
func leaderOf(t *testing.T, replicas []*framework.Replica) *framework.Replica {
	var leader *framework.Replica
	eventually(t, "one of the replicas leads", func(context.Context) bool {
		h := cluster.LeaseHolder(t)
		for _, r := range replicas {
			if r.Identity(t) == h {
				leader = r
				return true
			}
		}
		return false
	})
	return leader
}

func indexOf(replicas []*framework.Replica, r *framework.Replica) int {
	for i, x := range replicas {
		if x == r {
			return i
		}
	}
	return -1
}

// quotasCount waits until, read through replica r, every AccountQuota of accounts counts the
// Pods its Spaces hold, and checks that against the Pods themselves.
func quotasCount(t *testing.T, r *framework.Replica, accounts []haAccount, podsPerSpace int) {
	clients := r.Clients(t)
	for _, a := range accounts {
		want := podsPerSpace * len(a.spaces)
		total := 0
		for _, s := range a.spaces {
			pods, err := cluster.AdminClients(t).Kube.CoreV1().Pods(s).List(context.Background(), metav1.ListOptions{})
			require.NoError(t, err)
			total += len(pods.Items)
		}
		require.Equal(t, want, total, "Pods of Account %s", a.name)
		var used resource.Quantity
		eventually(t, "AccountQuota "+a.name+" counts its Pods", func(ctx context.Context) bool {
			q, err := clients.Kiosk.ConfigV1alpha1().AccountQuotas().Get(ctx, a.name, metav1.GetOptions{})
			if err != nil {
				return false
			}
			used = q.Status.Total.Used[corev1.ResourcePods]
			return used.Value() == int64(want)
		})
		_, err := clients.Kiosk.ConfigV1alpha1().Accounts().Get(context.Background(), a.name, metav1.GetOptions{})
		require.NoError(t, err, "Account %s after the failover", a.name)
	}
}

// listsAgree waits until every replica, asked directly, lists the same Spaces, Accounts and
// AccountQuotas, the test's among them.
func listsAgree(t *testing.T, replicas []*framework.Replica, accounts []haAccount) {
	lists := func(r *framework.Replica) (map[string][]string, error) {
		ctx := context.Background()
		c := r.Clients(t).Kiosk
		out := map[string][]string{}
		spaces, err := c.TenancyV1alpha1().Spaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for _, s := range spaces.Items {
			out["spaces"] = append(out["spaces"], s.Name+"="+s.Spec.Account)
		}
		as, err := c.ConfigV1alpha1().Accounts().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for _, a := range as.Items {
			out["accounts"] = append(out["accounts"], a.Name+"@"+a.ResourceVersion)
		}
		qs, err := c.ConfigV1alpha1().AccountQuotas().List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err
		}
		for _, q := range qs.Items {
			out["accountquotas"] = append(out["accountquotas"], q.Name+"@"+q.ResourceVersion)
		}
		for _, v := range out {
			sort.Strings(v)
		}
		return out, nil
	}
	var got []map[string][]string
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, time.Minute, true,
		func(context.Context) (bool, error) {
			got = got[:0]
			for _, r := range replicas {
				l, err := lists(r)
				if err != nil {
					return false, nil
				}
				got = append(got, l)
			}
			for _, l := range got[1:] {
				if !assert.ObjectsAreEqual(got[0], l) {
					return false, nil
				}
			}
			return true, nil
		})
	require.NoError(t, err, "the replicas' lists differ: %v", got)
	for _, a := range accounts {
		assert.Contains(t, got[0]["spaces"], a.spaces[0]+"="+a.name)
	}
	t.Logf("both replicas list %d Spaces, %d Accounts and %d AccountQuotas",
		len(got[0]["spaces"]), len(got[0]["accounts"]), len(got[0]["accountquotas"]))
}
