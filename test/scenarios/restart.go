package scenarios

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
	configinformers "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/informers/externalversions"
)

// RestartResult holds the restart scenario's timings, taken in turns.
type RestartResult struct {
	// Ready is the time from starting replica 0's process to its /readyz answering ok.
	Ready Sample
	// Informers is the baseline: a client that starts the informers the server starts and
	// waits until they have synced.
	Informers Sample
	// RSS is replica 0's resident set size once ready, after the last restart.
	RSS int64
}

// Restart restarts replica 0 rounds times and, in turn, times a fresh set of the same
// informers in this process.
func Restart(ctx context.Context, e *Env, rounds int) (*RestartResult, error) {
	res := &RestartResult{
		Ready:     Sample{Name: "replica 0: process start → /readyz ok"},
		Informers: Sample{Name: "the server's informers alone: start → synced (baseline)"},
	}
	for i := range rounds {
		// After a restart, kube-apiserver answers for the kiosk groups only once it has found
		// the APIServices available again; the baseline is timed from then, so that it holds
		// the informers' own time and not retries of lists that kube-apiserver refused.
		if err := waitAggregated(ctx, e); err != nil {
			return nil, err
		}
		informed, err := syncInformers(ctx, e)
		if err != nil {
			return nil, err
		}
		res.Informers.Add(informed)
		ready, err := restartReplica(ctx, e)
		if err != nil {
			return nil, err
		}
		res.Ready.Add(ready)
		e.Logf("round %d: informers alone %s, ready %s", i+1, informed.Round(time.Millisecond), ready.Round(time.Millisecond))
	}
	rss, err := RSS(e.PID("tenancy-apiserver-0"))
	if err != nil {
		return nil, err
	}
	res.RSS = rss
	return res, nil
}

// syncInformers starts, through kube-apiserver, the informers tenancy-apiserver's readiness
// waits for (its generic admission's included), and returns how long they took to sync.
func syncInformers(ctx context.Context, e *Env) (time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	kube := informers.NewSharedInformerFactory(e.Kube(), 0)
	kiosk := configinformers.NewSharedInformerFactory(versioned.NewForConfigOrDie(e.Admin()), 0)
	var synced []cache.DoneChecker
	for _, i := range []cache.SharedIndexInformer{
		kube.Core().V1().Namespaces().Informer(),
		kube.Core().V1().Pods().Informer(),
		kube.Core().V1().Nodes().Informer(),
		kube.Rbac().V1().ClusterRoles().Informer(),
		kube.Rbac().V1().ClusterRoleBindings().Informer(),
		kube.Rbac().V1().Roles().Informer(),
		kube.Rbac().V1().RoleBindings().Informer(),
		kube.Networking().V1().NetworkPolicies().Informer(),
		kube.Scheduling().V1().PriorityClasses().Informer(),
		kube.Admissionregistration().V1().MutatingWebhookConfigurations().Informer(),
		kube.Admissionregistration().V1().ValidatingWebhookConfigurations().Informer(),
		kube.Admissionregistration().V1().ValidatingAdmissionPolicies().Informer(),
		kube.Admissionregistration().V1().ValidatingAdmissionPolicyBindings().Informer(),
		kiosk.Config().V1alpha1().Accounts().Informer(),
		kiosk.Config().V1alpha1().AccountQuotas().Informer(),
		kiosk.Config().V1alpha1().Templates().Informer(),
		kiosk.Config().V1alpha1().TemplateInstances().Informer(),
	} {
		synced = append(synced, i.HasSyncedChecker())
	}
	kube.Start(ctx.Done())
	kiosk.Start(ctx.Done())
	// Without polling (cache.WaitForCacheSync looks every 100 ms), so that the baseline is
	// the informers' own time.
	if !cache.WaitFor(ctx, "", synced...) {
		return 0, fmt.Errorf("the informers did not sync: %w", ctx.Err())
	}
	d := time.Since(start)
	cancel()
	kube.Shutdown()
	kiosk.Shutdown()
	return d, nil
}

// waitAggregated waits until kube-apiserver serves this server's groups (a list of one
// Account), for at most two minutes.
func waitAggregated(ctx context.Context, e *Env) error {
	kiosk := e.Kiosk().ConfigV1alpha1().Accounts()
	err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := kiosk.List(ctx, metav1.ListOptions{Limit: 1})
		return err == nil, nil
	})
	if err != nil {
		return fmt.Errorf("kube-apiserver does not serve the kiosk groups: %w", err)
	}
	return nil
}

// restartReplica stops replica 0 with hack/lib/tenancy-apiserver.sh, starts it again and
// returns the time from its process's start to the first /readyz that answers ok.
func restartReplica(ctx context.Context, e *Env) (time.Duration, error) {
	script := filepath.Join(e.Root, "hack", "lib", "tenancy-apiserver.sh")
	control := func(cmd string) *exec.Cmd {
		c := exec.CommandContext(ctx, script, cmd, "0")
		c.Env = append(os.Environ(), "LOCAL_DIR="+e.Dir)
		return c
	}
	if out, err := control("stop").CombinedOutput(); err != nil {
		return 0, fmt.Errorf("stopping replica 0: %w: %s", err, out)
	}
	client, err := e.ServerClient()
	if err != nil {
		return 0, err
	}
	client.Timeout = time.Second
	var out strings.Builder
	start := control("start")
	start.Stdout, start.Stderr = &out, &out
	if err := start.Start(); err != nil {
		return 0, err
	}
	done := make(chan error, 1)
	go func() { done <- start.Wait() }()
	ready := time.Time{}
	began := time.Now()
	for ready.IsZero() {
		select {
		case err := <-done:
			if err != nil {
				return 0, fmt.Errorf("starting replica 0: %w: %s", err, out.String())
			}
			done <- nil
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		if time.Since(began) > 5*time.Minute {
			return 0, fmt.Errorf("replica 0 not ready after 5 minutes: %s", out.String())
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.ServerURL()+"/readyz", nil)
		resp, err := client.Do(req)
		if err != nil {
			continue
		}
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			ready = time.Now()
		}
	}
	if err := <-done; err != nil {
		return 0, fmt.Errorf("starting replica 0: %w: %s", err, out.String())
	}
	pid := e.PID("tenancy-apiserver-0")
	started, err := processStart(pid)
	if err != nil {
		return 0, err
	}
	return ready.Sub(started), nil
}
