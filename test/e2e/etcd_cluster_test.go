package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	tenancyv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// Sizes of the burst during which an etcd member is killed.
const (
	burstSpaces     = 30 // concurrent Space creates against
	burstSpaceLimit = 3  // the Account's space limit
	burstPods       = 60 // concurrent Pod creates against
	burstPodQuota   = 10 // an AccountQuota of this many Pods
	burstObjects    = 10 // Accounts and Templates each, created then updated
	// burstPodFailures bounds the Pod creates of a burst that may fail (5xx or timeout): the
	// AccountQuota webhook tries a charge again while etcd elects a new leader.
	burstPodFailures = burstPods / 10
	quorumLoss       = 10 * time.Second
)

// The tenancy etcd as a cluster of 3 members with peer and client TLS (tenancy-apiserver
// verifies the members' certificates and presents its own): a follower, then the leader, is
// killed during a burst of writes; then 2 of the 3 members are lost for 10 s; then the whole
// cluster restarts. Nothing acknowledged is ever lost, nothing is admitted over a limit or a
// quota, tenancy-apiserver recovers each time without a restart, and /readyz tells when etcd
// has no quorum.
func TestEtcdClusterFaults(t *testing.T) {
	etcd := cluster.UseEtcdCluster(t, 3)
	replica := cluster.Replica(0)
	pid := replica.PID()
	require.NotZero(t, pid)
	waitReady(t, replica, true, time.Minute)

	t.Run("member killed during a burst", func(t *testing.T) {
		for _, role := range []string{"follower", "leader"} {
			b := newBurst(t, role)
			leader := etcd.Leader(t)
			victim := leader
			if role == "follower" {
				victim = (leader + 1) % etcd.Members
			}
			b.run(t, func() {
				etcd.Kill(t, victim)
				t.Logf("%s: killed etcd member %d (%s, the %s; leader was member %d) with SIGKILL, %s into the burst",
					time.Now().Format(time.TimeOnly), victim, etcd.Endpoint(victim), role, leader, b.elapsed().Round(time.Millisecond))
			})
			b.check(t)
			if role == "leader" {
				t.Logf("%s: member %d leads after the leader's loss", time.Now().Format(time.TimeOnly), etcd.Leader(t))
			}
			etcd.Start(t, victim)
			t.Logf("%s: etcd member %d started again", time.Now().Format(time.TimeOnly), victim)
			waitReady(t, replica, true, time.Minute)
			writesWork(t, "after member "+fmt.Sprint(victim)+" came back")
		}
	})

	t.Run("quorum lost for 10s", func(t *testing.T) {
		quorumLost(t, etcd, replica)
	})

	t.Run("whole cluster restarted", func(t *testing.T) {
		clusterRestart(t, etcd, replica)
	})

	assert.Equal(t, pid, replica.PID(), "tenancy-apiserver kept running (same PID) through every fault")
}

// outcome is the answer to one write of a burst.
type outcome struct {
	name string
	err  error
}

// burst is the set of objects one round of the member-loss test writes to at once.
type burst struct {
	run0             string
	spaceAccount     string
	podAccount       string
	podSpace         string
	spaceUser        string
	start            time.Time
	spaces, pods     []outcome
	accounts         []outcome
	templates        []outcome
	accountUpdates   []outcome
	templateUpdates  []outcome
	unexpectedErrors []string
}

func (b *burst) elapsed() time.Duration { return time.Since(b.start) }

// newBurst makes, for one round, an Account of space limit 3 whose user may create Spaces,
// and an Account with one Space and an AccountQuota of 10 Pods.
func newBurst(t *testing.T, role string) *burst {
	ctx := context.Background()
	admin := cluster.AdminClients(t)
	run := framework.UniqueName("e2e-etcd-" + role)
	b := &burst{run0: run, spaceAccount: run + "-spaces", podAccount: run + "-pods", podSpace: run + "-pods-0", spaceUser: run + "-user"}
	limit := int32(burstSpaceLimit)
	createAccount(t, b.spaceAccount, b.spaceUser, &limit)
	grantKioskEdit(t, admin, b.spaceUser, b.spaceUser)
	createAccount(t, b.podAccount, b.podAccount+"-user", nil)
	_, err := admin.Kiosk.ConfigV1alpha1().AccountQuotas().Create(ctx, &configv1alpha1.AccountQuota{
		ObjectMeta: metav1.ObjectMeta{Name: b.podAccount},
		Spec: configv1alpha1.AccountQuotaSpec{Account: b.podAccount, Quota: corev1.ResourceQuotaSpec{
			Hard: corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(burstPodQuota, resource.DecimalSI)}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		deleted(t, "AccountQuota "+b.podAccount, admin.Kiosk.ConfigV1alpha1().AccountQuotas().Delete(ctx, b.podAccount, metav1.DeleteOptions{}))
	})
	createSpace(t, admin, b.podSpace, b.podAccount)
	eventually(t, "AccountQuota "+b.podAccount+" covers its Space", func(ctx context.Context) bool {
		q, err := admin.Kiosk.ConfigV1alpha1().AccountQuotas().Get(ctx, b.podAccount, metav1.GetOptions{})
		return err == nil && len(q.Status.Namespaces) == 1
	})
	t.Cleanup(func() {
		// Spaces the burst made, acknowledged or not, and the Accounts and Templates.
		nss, err := admin.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: "kiosk.sh/account=" + b.spaceAccount})
		if err == nil {
			for _, ns := range nss.Items {
				deleted(t, "Namespace "+ns.Name, admin.Kube.CoreV1().Namespaces().Delete(ctx, ns.Name, metav1.DeleteOptions{}))
			}
		}
		for i := range burstObjects {
			name := fmt.Sprintf("%s-%02d", run, i)
			deleted(t, "Account "+name, admin.Kiosk.ConfigV1alpha1().Accounts().Delete(ctx, name, metav1.DeleteOptions{}))
			deleted(t, "Template "+name, admin.Kiosk.ConfigV1alpha1().Templates().Delete(ctx, name, metav1.DeleteOptions{}))
		}
	})
	return b
}

// createAccount makes an Account with user as its subject, removed when the test ends.
func createAccount(t *testing.T, name, user string, limit *int32) {
	t.Helper()
	admin := cluster.AdminClients(t)
	_, err := admin.Kiosk.ConfigV1alpha1().Accounts().Create(context.Background(), &configv1alpha1.Account{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: configv1alpha1.AccountSpec{
			Space:    configv1alpha1.AccountSpace{Limit: limit},
			Subjects: []rbacv1.Subject{{Kind: "User", APIGroup: rbacv1.GroupName, Name: user}},
		},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		deleted(t, "Account "+name, admin.Kiosk.ConfigV1alpha1().Accounts().Delete(context.Background(), name, metav1.DeleteOptions{}))
	})
}

// createSpace makes a Space of account as the admin; its Namespace goes when the test ends.
func createSpace(t *testing.T, c framework.Clients, name, account string) {
	t.Helper()
	_, err := c.Kiosk.TenancyV1alpha1().Spaces().Create(context.Background(), &tenancyv1alpha1.Space{
		ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: tenancyv1alpha1.SpaceSpec{Account: account}}, metav1.CreateOptions{})
	require.NoError(t, err, "Space %s", name)
	t.Cleanup(func() {
		deleted(t, "Namespace "+name, cluster.AdminClients(t).Kube.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{}))
	})
}

func burstTemplate(name string) *configv1alpha1.Template {
	cm := fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q},"data":{"written":"1"}}`, name)
	return &configv1alpha1.Template{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Resources:  configv1alpha1.TemplateResources{Manifests: []runtime.RawExtension{{Raw: []byte(cm)}}},
	}
}

// run sends every write of the burst at once, calls kill from the test's goroutine as soon
// as the first answer is in (the rest are in flight), and waits for all answers.
func (b *burst) run(t *testing.T, kill func()) {
	admin := cluster.AdminClients(t)
	user := cluster.ClientsAs(t, b.spaceUser)
	for _, c := range []*framework.Clients{&admin, &user} {
		c.Config.QPS = -1
		c.Config.Timeout = 30 * time.Second
		*c = framework.NewClients(t, c.Config)
	}
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		gate  = make(chan struct{})
		first = make(chan struct{})
		once  sync.Once
	)
	record := func(to *[]outcome, name string, err error) {
		mu.Lock()
		*to = append(*to, outcome{name, err})
		mu.Unlock()
		once.Do(func() { close(first) })
	}
	write := func(to *[]outcome, name string, do func(ctx context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			record(to, name, do(context.Background()))
		}()
	}
	for i := range burstSpaces {
		name := fmt.Sprintf("%s-s%02d", b.spaceAccount, i)
		write(&b.spaces, name, func(ctx context.Context) error {
			_, err := user.Kiosk.TenancyV1alpha1().Spaces().Create(ctx, &tenancyv1alpha1.Space{
				ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: tenancyv1alpha1.SpaceSpec{Account: b.spaceAccount}}, metav1.CreateOptions{})
			return err
		})
	}
	for i := range burstPods {
		name := fmt.Sprintf("p%02d", i)
		write(&b.pods, name, func(ctx context.Context) error {
			_, err := admin.Kube.CoreV1().Pods(b.podSpace).Create(ctx, haPod(name), metav1.CreateOptions{})
			return err
		})
	}
	for i := range burstObjects {
		name := fmt.Sprintf("%s-%02d", b.run0, i)
		write(&b.accounts, name, func(ctx context.Context) error {
			a, err := admin.Kiosk.ConfigV1alpha1().Accounts().Create(ctx, &configv1alpha1.Account{
				ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
			if err != nil {
				return err
			}
			a.Labels = map[string]string{"written": "2"}
			_, err = admin.Kiosk.ConfigV1alpha1().Accounts().Update(ctx, a, metav1.UpdateOptions{})
			record(&b.accountUpdates, name, err)
			return nil
		})
		write(&b.templates, name, func(ctx context.Context) error {
			tpl, err := admin.Kiosk.ConfigV1alpha1().Templates().Create(ctx, burstTemplate(name), metav1.CreateOptions{})
			if err != nil {
				return err
			}
			tpl.Labels = map[string]string{"written": "2"}
			_, err = admin.Kiosk.ConfigV1alpha1().Templates().Update(ctx, tpl, metav1.UpdateOptions{})
			record(&b.templateUpdates, name, err)
			return nil
		})
	}
	b.start = time.Now()
	t.Logf("%s: burst of %d Space creates (limit %d), %d Pod creates (AccountQuota of %d), %d Account and %d Template creates and updates",
		b.start.Format(time.TimeOnly), burstSpaces, burstSpaceLimit, burstPods, burstPodQuota, burstObjects, burstObjects)
	close(gate)
	<-first
	kill()
	wg.Wait()
	t.Logf("%s: every answer in after %s", time.Now().Format(time.TimeOnly), b.elapsed().Round(time.Millisecond))
}

// acked are the names of the writes answered with success; the other answers must be a
// refusal (a limit or quota reached, when refused says so), a server error or a timeout.
func acked(t *testing.T, what string, outs []outcome, refused func(error) bool) []string {
	t.Helper()
	var ok []string
	counts := map[string]int{}
	for _, o := range outs {
		switch {
		case o.err == nil:
			ok = append(ok, o.name)
			counts["ok"]++
		case refused != nil && refused(o.err):
			counts["refused"]++
		case unavailable(o.err):
			if counts["failed"] == 0 {
				defer t.Logf("%s: the first failure: %v", what, o.err)
			}
			counts["failed"]++
		default:
			t.Errorf("%s %s: a wrong answer (neither success, refusal, 5xx nor timeout): %v", what, o.name, o.err)
		}
	}
	sort.Strings(ok)
	t.Logf("%s: %d acknowledged, %d refused, %d failed (5xx or timeout)", what, counts["ok"], counts["refused"], counts["failed"])
	return ok
}

// unavailable reports whether err is a server error or a timeout, the answers allowed while
// etcd is losing members.
func unavailable(err error) bool {
	var status apierrors.APIStatus
	if errors.As(err, &status) && status.Status().Code >= 500 {
		return true
	}
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout() ||
		apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) || apierrors.IsTooManyRequests(err)
}

func (b *burst) check(t *testing.T) {
	ctx := context.Background()
	admin := cluster.AdminClients(t)
	limitReached := func(err error) bool {
		return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "space limit of 3 reached")
	}
	quotaExceeded := func(err error) bool {
		return apierrors.IsForbidden(err) && strings.Contains(err.Error(), "exceeded quota: "+b.podAccount)
	}

	spaces := acked(t, "Space creates", b.spaces, limitReached)
	assert.LessOrEqual(t, len(spaces), burstSpaceLimit, "Spaces acknowledged against a limit of %d", burstSpaceLimit)
	var live []string
	eventually(t, "the Namespaces of Account "+b.spaceAccount+" can be listed", func(ctx context.Context) bool {
		nss, err := admin.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{LabelSelector: "kiosk.sh/account=" + b.spaceAccount})
		if err != nil {
			return false
		}
		live = live[:0]
		for _, ns := range nss.Items {
			if ns.DeletionTimestamp == nil {
				live = append(live, ns.Name)
			}
		}
		return true
	})
	assert.LessOrEqual(t, len(live), burstSpaceLimit, "no over-admission: Namespaces of Account %s: %v", b.spaceAccount, live)
	for _, s := range spaces {
		assert.Contains(t, live, s, "acknowledged Space %s is there", s)
		eventually(t, "Space "+s+" is there", func(ctx context.Context) bool {
			_, err := admin.Kiosk.TenancyV1alpha1().Spaces().Get(ctx, s, metav1.GetOptions{})
			return err == nil
		})
	}

	pods := acked(t, "Pod creates", b.pods, quotaExceeded)
	assert.LessOrEqual(t, len(pods), burstPodQuota, "Pods acknowledged against an AccountQuota of %d", burstPodQuota)
	var podFailures []string
	for _, o := range b.pods {
		if o.err != nil && !quotaExceeded(o.err) {
			podFailures = append(podFailures, o.name+": "+o.err.Error())
		}
	}
	assert.LessOrEqual(t, len(podFailures), burstPodFailures, "Pod creates that failed rather than being admitted or refused: %v", podFailures)
	if len(podFailures) == 0 {
		assert.Len(t, pods, burstPodQuota, "with every Pod create answered, the AccountQuota admits exactly its hard limit")
	}
	list, err := admin.Kube.CoreV1().Pods(b.podSpace).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	var existing []string
	for _, p := range list.Items {
		existing = append(existing, p.Name)
	}
	assert.LessOrEqual(t, len(existing), burstPodQuota, "no over-admission: Pods under AccountQuota %s: %v", b.podAccount, existing)
	for _, p := range pods {
		assert.Contains(t, existing, p, "acknowledged Pod %s is there", p)
	}
	var used int64
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		q, err := admin.Kiosk.ConfigV1alpha1().AccountQuotas().Get(ctx, b.podAccount, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		u := q.Status.Total.Used[corev1.ResourcePods]
		used = u.Value()
		return used == int64(len(existing)), nil
	})
	assert.NoError(t, err, "AccountQuota %s counts the %d Pods there (it says %d)", b.podAccount, len(existing), used)
	assert.LessOrEqual(t, used, int64(burstPodQuota), "AccountQuota %s used", b.podAccount)

	accounts := acked(t, "Account creates", b.accounts, nil)
	templates := acked(t, "Template creates", b.templates, nil)
	accountUpdates := acked(t, "Account updates", b.accountUpdates, nil)
	templateUpdates := acked(t, "Template updates", b.templateUpdates, nil)
	for _, name := range accounts {
		var a *configv1alpha1.Account
		eventually(t, "Account "+name+" can be read", func(ctx context.Context) bool {
			a, err = admin.Kiosk.ConfigV1alpha1().Accounts().Get(ctx, name, metav1.GetOptions{})
			return err == nil
		})
		if slices.Contains(accountUpdates, name) {
			assert.Equal(t, "2", a.Labels["written"], "acknowledged update of Account %s", name)
		}
	}
	for _, name := range templates {
		var tpl *configv1alpha1.Template
		eventually(t, "Template "+name+" can be read", func(ctx context.Context) bool {
			tpl, err = admin.Kiosk.ConfigV1alpha1().Templates().Get(ctx, name, metav1.GetOptions{})
			return err == nil
		})
		assert.Len(t, tpl.Resources.Manifests, 1, "Template %s keeps its manifest", name)
		if slices.Contains(templateUpdates, name) {
			assert.Equal(t, "2", tpl.Labels["written"], "acknowledged update of Template %s", name)
		}
	}
	t.Logf("checked one by one: %d Spaces, %d Pods, %d Accounts (%d updated), %d Templates (%d updated) acknowledged and there",
		len(spaces), len(pods), len(accounts), len(accountUpdates), len(templates), len(templateUpdates))
}

// waitReady polls replica's /readyz until it answers ok (want true) or not (want false), and
// returns how long that took and the last answer.
func waitReady(t *testing.T, r *framework.Replica, want bool, timeout time.Duration) (time.Duration, string) {
	t.Helper()
	start := time.Now()
	var body string
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		ok, b := readyz(ctx, t, r)
		body = b
		return ok == want, nil
	})
	require.NoError(t, err, "/readyz of replica %d ok=%v within %s; last answer:\n%s", r.Index, want, timeout, body)
	return time.Since(start), body
}

// readyz asks replica's /readyz?verbose, and reports whether it answered 200.
func readyz(ctx context.Context, t *testing.T, r *framework.Replica) (bool, string) {
	return health(ctx, t, r, "/readyz")
}

// health asks replica's health endpoint path (/readyz, /livez) with ?verbose, and reports
// whether it answered 200.
func health(ctx context.Context, t *testing.T, r *framework.Replica, path string) (bool, string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res := r.Clients(t).Kube.Discovery().RESTClient().Get().AbsPath(path).Param("verbose", "1").Do(ctx)
	raw, _ := res.Raw()
	var code int
	res.StatusCode(&code)
	return code == 200, string(raw)
}

// failingChecks are the lines of a verbose /readyz answer that report a failed check.
func failingChecks(body string) []string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "[-]") {
			out = append(out, l)
		}
	}
	return out
}

// writesWork creates an Account and deletes it, through kube-apiserver.
func writesWork(t *testing.T, when string) {
	t.Helper()
	admin := cluster.AdminClients(t)
	name := framework.UniqueName("e2e-etcd-write")
	_, err := admin.Kiosk.ConfigV1alpha1().Accounts().Create(context.Background(), &configv1alpha1.Account{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	require.NoError(t, err, "an Account create %s", when)
	require.NoError(t, admin.Kiosk.ConfigV1alpha1().Accounts().Delete(context.Background(), name, metav1.DeleteOptions{}), "an Account delete %s", when)
}

// quorumLost kills 2 of the 3 members for 10 s: every write fails with a server error or a
// timeout, the per-user views keep being served, /readyz says etcd is unavailable; then the
// members come back, /readyz recovers and writes succeed.
func quorumLost(t *testing.T, etcd *framework.EtcdCluster, replica *framework.Replica) {
	ctx := context.Background()
	admin := cluster.AdminClients(t)
	run := framework.UniqueName("e2e-quorum")
	user := run + "-user"
	createAccount(t, run, user, nil)
	mine := []string{run + "-0", run + "-1"}
	for _, s := range mine {
		createSpace(t, admin, s, run)
	}
	hard := int64(5)
	_, err := admin.Kiosk.ConfigV1alpha1().AccountQuotas().Create(ctx, &configv1alpha1.AccountQuota{
		ObjectMeta: metav1.ObjectMeta{Name: run},
		Spec: configv1alpha1.AccountQuotaSpec{Account: run, Quota: corev1.ResourceQuotaSpec{
			Hard: corev1.ResourceList{corev1.ResourcePods: *resource.NewQuantity(hard, resource.DecimalSI)}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		deleted(t, "AccountQuota "+run, admin.Kiosk.ConfigV1alpha1().AccountQuotas().Delete(ctx, run, metav1.DeleteOptions{}))
	})
	eventually(t, "AccountQuota "+run+" covers its Spaces", func(ctx context.Context) bool {
		q, err := admin.Kiosk.ConfigV1alpha1().AccountQuotas().Get(ctx, run, metav1.GetOptions{})
		return err == nil && len(q.Status.Namespaces) == len(mine)
	})
	userClients := cluster.ClientsAs(t, user)
	views := func(ctx context.Context) error {
		spaces, err := userClients.Kiosk.TenancyV1alpha1().Spaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("listing Spaces: %w", err)
		}
		var got []string
		for _, s := range spaces.Items {
			got = append(got, s.Name)
		}
		sort.Strings(got)
		if !slices.Equal(got, mine) {
			return fmt.Errorf("lists Spaces %v, not %v", got, mine)
		}
		accounts, err := userClients.Kiosk.TenancyV1alpha1().Accounts().List(ctx, metav1.ListOptions{})
		if err != nil {
			return fmt.Errorf("listing Accounts: %w", err)
		}
		if len(accounts.Items) != 1 || accounts.Items[0].Name != run {
			return fmt.Errorf("lists %d Accounts, not only %s", len(accounts.Items), run)
		}
		return nil
	}
	require.NoError(t, views(ctx), "user %s before the loss", user)

	leader := etcd.Leader(t)
	lost := []int{leader, (leader + 1) % etcd.Members}
	start := time.Now()
	for _, i := range lost {
		etcd.Kill(t, i)
	}
	t.Logf("%s: killed etcd members %v (%d, the leader, and %d) with SIGKILL: 1 of 3 left, no quorum",
		start.Format(time.TimeOnly), lost, lost[0], lost[1])

	q := outage{start: start, errors: map[string]int{}}
	var wg sync.WaitGroup
	// Writers: Account creates and Pod creates, which the AccountQuota webhook must charge.
	writeCfg := cluster.Config(t)
	writeCfg.Timeout = 5 * time.Second
	writer := framework.NewClients(t, writeCfg)
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Since(start) < quorumLoss; i++ {
				var err error
				what, name := "Pod create", fmt.Sprintf("w%02d", i)
				if w == 0 {
					what, name = "Account create", fmt.Sprintf("%s-w%02d", run, i)
					_, err = writer.Kiosk.ConfigV1alpha1().Accounts().Create(ctx, &configv1alpha1.Account{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
				} else {
					_, err = writer.Kube.CoreV1().Pods(mine[0]).Create(ctx, haPod(name), metav1.CreateOptions{})
				}
				q.write(what, name, err)
			}
		}()
	}
	// Readers: the user's views, served from memory.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for time.Since(start) < quorumLoss {
			readCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
			q.read(views(readCtx))
			cancel()
			time.Sleep(200 * time.Millisecond)
		}
	}()
	// /readyz, and /livez, which must not fail: a liveness probe would restart a server that
	// still serves the views.
	var livezFailures []string
	wg.Add(1)
	go func() {
		defer wg.Done()
		for time.Since(start) < quorumLoss {
			if ok, body := readyz(ctx, t, replica); !ok {
				q.notReady(body)
			}
			if ok, body := health(ctx, t, replica, "/livez"); !ok {
				livezFailures = append(livezFailures, strings.Join(failingChecks(body), "; "))
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	wg.Wait()
	assert.Empty(t, livezFailures, "/livez failed without quorum")
	t.Logf("%s: without quorum for %s: %d writes, %d failed with 5xx or timeout, %d wrong answers; %d reads of the user's views, %d served right",
		time.Now().Format(time.TimeOnly), time.Since(start).Round(time.Millisecond), q.writes, q.failed, len(q.wrong), q.reads, q.readsOK)
	for e, n := range q.errors {
		t.Logf("  %dx %s", n, e)
	}
	assert.Positive(t, q.writes, "writes tried without quorum")
	assert.Empty(t, q.wrong, "writes without quorum answered otherwise than 5xx or timeout")
	assert.Equal(t, q.writes, q.failed, "every write without quorum failed with 5xx or timeout")
	assert.Positive(t, q.reads, "reads tried without quorum")
	assert.Equal(t, q.reads, q.readsOK, "reads of the user's views without quorum: %v", q.readErrors)
	if q.notReadyAt == 0 {
		took, body := waitReady(t, replica, false, 30*time.Second)
		t.Logf("/readyz fails %s after the loss (%s after the outage's writes): %v", time.Since(start).Round(time.Millisecond), took.Round(time.Millisecond), failingChecks(body))
	} else {
		t.Logf("/readyz failed %s after the loss: %v", q.notReadyAt.Round(time.Millisecond), failingChecks(q.notReadyBody))
	}
	t.Cleanup(func() {
		list, err := admin.Kiosk.ConfigV1alpha1().Accounts().List(ctx, metav1.ListOptions{})
		if err != nil {
			return
		}
		for _, a := range list.Items {
			if strings.HasPrefix(a.Name, run+"-w") {
				deleted(t, "Account "+a.Name, admin.Kiosk.ConfigV1alpha1().Accounts().Delete(ctx, a.Name, metav1.DeleteOptions{}))
			}
		}
	})

	back := time.Now()
	etcd.StartMembers(t, lost...)
	t.Logf("%s: etcd members %v started again", time.Now().Format(time.TimeOnly), lost)
	waitReady(t, replica, true, 2*time.Minute)
	t.Logf("/readyz ok %s after the members came back", time.Since(back).Round(time.Millisecond))
	writesWork(t, "after the quorum came back")
	_, err = admin.Kube.CoreV1().Pods(mine[0]).Create(ctx, haPod("after"), metav1.CreateOptions{})
	require.NoError(t, err, "a Pod within AccountQuota %s after the quorum came back", run)
	require.NoError(t, views(ctx), "user %s after the quorum came back", user)
	// A Pod whose create timed out may have been charged and made after all: the quota
	// must count exactly the Pods there, never more than hard.
	pods, err := admin.Kube.CoreV1().Pods(mine[0]).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.LessOrEqual(t, int64(len(pods.Items)), hard, "Pods under AccountQuota %s", run)
	eventually(t, "AccountQuota "+run+" counts the Pods there", func(ctx context.Context) bool {
		q, err := admin.Kiosk.ConfigV1alpha1().AccountQuotas().Get(ctx, run, metav1.GetOptions{})
		if err != nil {
			return false
		}
		u := q.Status.Total.Used[corev1.ResourcePods]
		return u.Value() == int64(len(pods.Items))
	})
}

// outage collects the answers during a quorum loss.
type outage struct {
	mu             sync.Mutex
	start          time.Time
	writes, failed int
	wrong          []string
	errors         map[string]int
	reads, readsOK int
	readErrors     []string
	notReadyAt     time.Duration
	notReadyBody   string
}

// write records one write's answer; errors are counted by message, the object's name left out.
func (o *outage) write(what, name string, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.writes++
	switch {
	case err == nil:
		o.wrong = append(o.wrong, what+" succeeded")
	case unavailable(err):
		o.failed++
		o.errors[what+": "+strings.ReplaceAll(err.Error(), name, "NAME")]++
	default:
		o.wrong = append(o.wrong, what+": "+err.Error())
	}
}

func (o *outage) read(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.reads++
	if err == nil {
		o.readsOK++
	} else if len(o.readErrors) < 5 {
		o.readErrors = append(o.readErrors, time.Since(o.start).Round(time.Millisecond).String()+": "+err.Error())
	}
}

func (o *outage) notReady(body string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.notReadyAt == 0 {
		o.notReadyAt, o.notReadyBody = time.Since(o.start), body
	}
}

// clusterRestart stops every member and starts them again: tenancy-apiserver reconnects on
// its own and every object is there, unchanged.
func clusterRestart(t *testing.T, etcd *framework.EtcdCluster, replica *framework.Replica) {
	ctx := context.Background()
	admin := cluster.AdminClients(t)
	run := framework.UniqueName("e2e-restart")
	type stored struct{ uid, rv string }
	accounts, templates := map[string]stored{}, map[string]stored{}
	for i := range 5 {
		name := fmt.Sprintf("%s-%d", run, i)
		limit := int32(i + 1)
		createAccount(t, name, name+"-user", &limit)
		a, err := admin.Kiosk.ConfigV1alpha1().Accounts().Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err)
		accounts[name] = stored{string(a.UID), a.ResourceVersion}
		tpl, err := admin.Kiosk.ConfigV1alpha1().Templates().Create(ctx, burstTemplate(name), metav1.CreateOptions{})
		require.NoError(t, err)
		t.Cleanup(func() {
			deleted(t, "Template "+name, admin.Kiosk.ConfigV1alpha1().Templates().Delete(ctx, name, metav1.DeleteOptions{}))
		})
		templates[name] = stored{string(tpl.UID), tpl.ResourceVersion}
	}

	stop := time.Now()
	etcd.StopAll(t)
	t.Logf("%s: every etcd member stopped (SIGTERM)", stop.Format(time.TimeOnly))
	took, body := waitReady(t, replica, false, 30*time.Second)
	t.Logf("/readyz fails %s after the stop: %v", took.Round(time.Millisecond), failingChecks(body))
	etcd.StartAll(t)
	t.Logf("%s: every etcd member started again, %s after the stop", time.Now().Format(time.TimeOnly), time.Since(stop).Round(time.Millisecond))
	took, _ = waitReady(t, replica, true, 2*time.Minute)
	t.Logf("/readyz ok %s after the start", took.Round(time.Millisecond))

	for name, want := range accounts {
		a, err := admin.Kiosk.ConfigV1alpha1().Accounts().Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err, "Account %s after the restart", name)
		assert.Equal(t, want, stored{string(a.UID), a.ResourceVersion}, "Account %s unchanged", name)
	}
	for name, want := range templates {
		tpl, err := admin.Kiosk.ConfigV1alpha1().Templates().Get(ctx, name, metav1.GetOptions{})
		require.NoError(t, err, "Template %s after the restart", name)
		assert.Equal(t, want, stored{string(tpl.UID), tpl.ResourceVersion}, "Template %s unchanged", name)
	}
	writesWork(t, "after the cluster restart")
	t.Logf("%d Accounts and %d Templates unchanged after the restart", len(accounts), len(templates))
}
