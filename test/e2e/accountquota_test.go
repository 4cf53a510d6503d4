package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// 60 concurrent Pod creates over 3 Spaces of an Account whose AccountQuota allows 10 Pods
// make exactly 10. Deleting 5 lets exactly 5 more in, and the controller's status matches
// the Pods.
func TestAccountQuotaHoldsUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	admin := cluster.AdminClients(t)
	account := framework.UniqueName("quota")
	spaces := []string{account + "-a", account + "-b", account + "-c"}
	_, err := admin.Kiosk.ConfigV1alpha1().Accounts().Create(ctx, &configv1alpha1.Account{ObjectMeta: metav1.ObjectMeta{Name: account}}, metav1.CreateOptions{})
	require.NoError(t, err)
	for _, s := range spaces {
		_, err := admin.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
			Name: s, Labels: map[string]string{"kiosk.sh/account": account}}}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	_, err = admin.Kiosk.ConfigV1alpha1().AccountQuotas().Create(ctx, &configv1alpha1.AccountQuota{
		ObjectMeta: metav1.ObjectMeta{Name: account},
		Spec: configv1alpha1.AccountQuotaSpec{Account: account,
			Quota: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		for _, s := range spaces {
			deleted(t, "Namespace "+s, admin.Kube.CoreV1().Namespaces().Delete(context.Background(), s, metav1.DeleteOptions{}))
		}
		deleted(t, "AccountQuota "+account, admin.Kiosk.ConfigV1alpha1().AccountQuotas().Delete(context.Background(), account, metav1.DeleteOptions{}))
		deleted(t, "Account "+account, admin.Kiosk.ConfigV1alpha1().Accounts().Delete(context.Background(), account, metav1.DeleteOptions{}))
	})
	eventually(t, "the webhook knows the Spaces", func(ctx context.Context) bool {
		q, err := admin.Kiosk.ConfigV1alpha1().AccountQuotas().Get(ctx, account, metav1.GetOptions{})
		return err == nil && len(q.Status.Namespaces) == len(spaces)
	})

	burst := func(prefix string, n int) (created int) {
		release := make(chan struct{}) // closed once every worker is started: all send at once
		var wg sync.WaitGroup
		var mu sync.Mutex
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-release
				pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%02d", prefix, i)},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}}
				_, err := admin.Kube.CoreV1().Pods(spaces[i%len(spaces)]).Create(ctx, pod, metav1.CreateOptions{})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					created++
				case apierrors.IsForbidden(err):
					assert.Contains(t, err.Error(), "exceeded quota: "+account)
				default:
					t.Errorf("creating a pod: %v", err)
				}
			}()
		}
		close(release)
		wg.Wait()
		return created
	}
	assert.Equal(t, 10, burst("first", 60), "pods admitted from 60")
	countPods := func() (names [][2]string) {
		for _, s := range spaces {
			list, err := admin.Kube.CoreV1().Pods(s).List(ctx, metav1.ListOptions{})
			require.NoError(t, err)
			for _, p := range list.Items {
				names = append(names, [2]string{s, p.Name})
			}
		}
		return names
	}
	pods := countPods()
	require.Len(t, pods, 10)
	for _, p := range pods[:5] {
		require.NoError(t, admin.Kube.CoreV1().Pods(p[0]).Delete(ctx, p[1], metav1.DeleteOptions{GracePeriodSeconds: new(int64)}))
	}
	eventually(t, "the controller counts the deletions", func(ctx context.Context) bool {
		q, err := admin.Kiosk.ConfigV1alpha1().AccountQuotas().Get(ctx, account, metav1.GetOptions{})
		return err == nil && q.Status.Total.Used.Pods().Value() == 5
	})
	assert.Equal(t, 5, burst("second", 30), "pods admitted after deleting 5")
	assert.Len(t, countPods(), 10)

	eventually(t, "status matches the Pods", func(ctx context.Context) bool {
		q, err := admin.Kiosk.ConfigV1alpha1().AccountQuotas().Get(ctx, account, metav1.GetOptions{})
		if err != nil || q.Status.Total.Used.Pods().Value() != 10 || len(q.Status.Namespaces) != 3 {
			return false
		}
		for _, ns := range q.Status.Namespaces {
			list, err := admin.Kube.CoreV1().Pods(ns.Namespace).List(ctx, metav1.ListOptions{})
			if err != nil || int64(len(list.Items)) != ns.Status.Used.Pods().Value() {
				return false
			}
		}
		return true
	})
}

// limits.cpu holds for a tenant's Deployment: the ReplicaSet controller's Pods are charged
// like any other, and the ones over the quota are refused.
func TestAccountQuotaLimitsDeploymentCPU(t *testing.T) {
	ctx := context.Background()
	admin := cluster.Admin()
	clients := cluster.AdminClients(t)
	account, user := framework.UniqueName("cpu"), framework.UniqueName("dev")
	ns := account + "-space"
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", ns, "--wait=false").Deleted(t)
		admin.Run(t, "delete", "accountquotas", account, "--ignore-not-found").Deleted(t)
		admin.Run(t, "delete", "accounts.config.kiosk.sh", account, "--ignore-not-found").Deleted(t)
	})
	admin.Apply(t, "apiVersion: config.kiosk.sh/v1alpha1\nkind: Account\nmetadata:\n  name: "+account+
		"\nspec:\n  subjects:\n  - kind: User\n    name: "+user+"\n    apiGroup: rbac.authorization.k8s.io\n").Success(t)
	admin.Apply(t, "apiVersion: config.kiosk.sh/v1alpha1\nkind: AccountQuota\nmetadata:\n  name: "+account+
		"\nspec:\n  account: "+account+"\n  quota:\n    hard:\n      limits.cpu: \"2\"\n").Success(t)
	admin.Apply(t, space(ns, account)).Success(t)
	tenant := cluster.As(user)
	eventually(t, "the tenant may create Deployments in the Space", func(context.Context) bool {
		return tenant.Run(t, "auth", "can-i", "create", "deployments", "-n", ns).Err == nil
	})
	tenant.Apply(t, deploymentYAML("web", ns, 3, `      containers:
      - name: web
        image: nginx
        resources:
          limits:
            cpu: "1"
`)).Success(t)
	eventually(t, "the ReplicaSet controller is refused the third Pod", func(ctx context.Context) bool {
		events, err := clients.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		for _, e := range events.Items {
			if e.Reason == "FailedCreate" && strings.Contains(e.Message, "exceeded quota: "+account) {
				return true
			}
		}
		return false
	})
	pods, err := clients.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	require.NoError(t, err)
	assert.Len(t, pods.Items, 2, "two Pods of one cpu each fit in limits.cpu 2")
}

// Restarting tenancy-apiserver in the middle of a burst of Pod creates neither loses a
// charge nor lets a Pod over the quota: afterwards usage matches the Pods, and exactly the
// quota's worth of Pods exists once the Account is filled up.
func TestAccountQuotaSurvivesRestartDuringBurst(t *testing.T) {
	ctx := context.Background()
	admin := cluster.AdminClients(t)
	account := framework.UniqueName("restart")
	ns := account + "-space"
	_, err := admin.Kiosk.ConfigV1alpha1().Accounts().Create(ctx, &configv1alpha1.Account{ObjectMeta: metav1.ObjectMeta{Name: account}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = admin.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: ns, Labels: map[string]string{"kiosk.sh/account": account}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = admin.Kiosk.ConfigV1alpha1().AccountQuotas().Create(ctx, &configv1alpha1.AccountQuota{
		ObjectMeta: metav1.ObjectMeta{Name: account},
		Spec: configv1alpha1.AccountQuotaSpec{Account: account,
			Quota: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("20")}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		deleted(t, "Namespace "+ns, admin.Kube.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{}))
		deleted(t, "AccountQuota "+account, admin.Kiosk.ConfigV1alpha1().AccountQuotas().Delete(context.Background(), account, metav1.DeleteOptions{}))
		deleted(t, "Account "+account, admin.Kiosk.ConfigV1alpha1().Accounts().Delete(context.Background(), account, metav1.DeleteOptions{}))
	})
	eventually(t, "the quota is counted", func(ctx context.Context) bool {
		q, err := admin.Kiosk.ConfigV1alpha1().AccountQuotas().Get(ctx, account, metav1.GetOptions{})
		return err == nil && len(q.Status.Namespaces) == 1
	})
	create := func(name string) error {
		_, err := admin.Kube.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}}, metav1.CreateOptions{})
		return err
	}
	// Six workers create Pods in rounds that start together: one round before the restart,
	// rounds while it runs (up to 100), and one after it.
	var unexpected []error
	round := func(r int) {
		release := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-release
				err := create(fmt.Sprintf("burst-%d-%d", r, w))
				// Refusals over the quota, and failures of the webhook while no replica
				// answers, are expected.
				if err == nil || apierrors.IsForbidden(err) || strings.Contains(err.Error(), "failed calling webhook") {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				unexpected = append(unexpected, err)
			}()
		}
		close(release)
		wg.Wait()
	}
	round(0)
	restarted := make(chan struct{})
	rounds := make(chan int)
	go func() {
		defer close(rounds)
		r := 1
		for ; r <= 100; r++ {
			select {
			case <-restarted:
				rounds <- r - 1
				return
			default:
			}
			round(r)
		}
		<-restarted
		rounds <- r - 1
	}()
	cluster.RestartTenancy(t)
	close(restarted)
	during := <-rounds
	round(during + 1)
	t.Logf("%d rounds of 6 creates ran while replica 0 restarted", during)
	for _, err := range unexpected {
		t.Errorf("creating a Pod during the burst: %v", err)
	}

	pods, err := admin.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.LessOrEqual(t, len(pods.Items), 20, "no Pod over the quota")
	eventually(t, "usage matches the Pods", func(ctx context.Context) bool {
		q, err := admin.Kiosk.ConfigV1alpha1().AccountQuotas().Get(ctx, account, metav1.GetOptions{})
		return err == nil && q.Status.Total.Used.Pods().Value() == int64(len(pods.Items))
	})
	created := len(pods.Items)
	for i := 0; i < 30 && created < 21; i++ {
		err := create(fmt.Sprintf("fill-%d", i))
		if err == nil {
			created++
			continue
		}
		require.True(t, apierrors.IsForbidden(err), "unexpected error: %v", err)
		assert.Contains(t, err.Error(), "exceeded quota: "+account)
		break
	}
	assert.Equal(t, 20, created, "exactly the quota's worth of Pods")
}
