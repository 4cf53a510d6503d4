package scenarios

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

// noopLabel selects the namespace whose Pods pass the no-op copies of the product's webhooks.
const noopLabel = "scenarios.kiosk.sh/noop"

// AdmissionResult holds the Pod create timings of the admission scenario, taken in turns.
type AdmissionResult struct {
	// AccountQuota is a Space of an Account with an AccountQuota: the product's webhooks.
	AccountQuota Sample
	// Noop is a plain namespace whose Pods pass a no-op copy of each of the product's Pod
	// webhooks, registered the same way: the baseline.
	Noop Sample
	// ResourceQuota is a plain namespace with kube-apiserver's built-in ResourceQuota.
	ResourceQuota Sample
	// NoopCalls is how many reviews the no-op webhooks answered.
	NoopCalls int64
	// Webhooks are the product's webhooks the baseline copies.
	Webhooks []string
}

// Admission creates Pods with callers concurrent callers through kube-apiserver, rounds
// times perRound Pods in each of the three namespaces in turn, and times each create. The
// no-op webhooks are served by a process of their own, started with noopArgv followed by
// the CA file of kube-apiserver's webhook client certificate (see ServeNoop).
func Admission(ctx context.Context, e *Env, prefix string, callers, rounds, perRound int, noopArgv []string) (*AdmissionResult, error) {
	kube, kiosk := e.Kube(), e.Kiosk()
	labels := map[string]string{PopulationLabel: prefix}
	account, space, noopNS, rqNS := prefix+"-aq", prefix+"-aq-space", prefix+"-noop", prefix+"-rq"
	noop, err := StartNoop(ctx, append(slices.Clone(noopArgv), filepath.Join(e.Dir, "pki", "ca.crt")))
	if err != nil {
		return nil, err
	}
	defer func() { _ = noop.Close() }()
	res := &AdmissionResult{
		AccountQuota:  Sample{Name: "Pod create in a Space under AccountQuota"},
		Noop:          Sample{Name: "Pod create past no-op copies of the webhooks (baseline)"},
		ResourceQuota: Sample{Name: "Pod create under a ResourceQuota (kube-apiserver's own)"},
	}
	if res.Webhooks, err = copyWebhooks(ctx, kube, prefix, noop, labels); err != nil {
		return nil, err
	}
	hard := corev1.ResourceList{
		corev1.ResourcePods:           resource.MustParse("1000000"),
		corev1.ResourceRequestsCPU:    resource.MustParse("100000"),
		corev1.ResourceRequestsMemory: resource.MustParse("100Ti"),
		corev1.ResourceLimitsMemory:   resource.MustParse("200Ti"),
	}
	if _, err := kiosk.ConfigV1alpha1().Accounts().Create(ctx, &configv1alpha1.Account{
		ObjectMeta: metav1.ObjectMeta{Name: account, Labels: labels}}, metav1.CreateOptions{}); ignoreExists(err) != nil {
		return nil, err
	}
	if _, err := kiosk.ConfigV1alpha1().AccountQuotas().Create(ctx, &configv1alpha1.AccountQuota{
		ObjectMeta: metav1.ObjectMeta{Name: account, Labels: labels},
		Spec:       configv1alpha1.AccountQuotaSpec{Account: account, Quota: corev1.ResourceQuotaSpec{Hard: hard}},
	}, metav1.CreateOptions{}); ignoreExists(err) != nil {
		return nil, err
	}
	for ns, extra := range map[string]map[string]string{
		space: {configv1alpha1.AccountLabel: account}, noopNS: {noopLabel: prefix}, rqNS: {},
	} {
		l := map[string]string{PopulationLabel: prefix}
		for k, v := range extra {
			l[k] = v
		}
		if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{
			ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: l}}, metav1.CreateOptions{}); ignoreExists(err) != nil {
			return nil, err
		}
	}
	if _, err := kube.CoreV1().ResourceQuotas(rqNS).Create(ctx, &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "quota"}, Spec: corev1.ResourceQuotaSpec{Hard: hard}}, metav1.CreateOptions{}); ignoreExists(err) != nil {
		return nil, err
	}
	// Ready when the AccountQuota counts the Space, the ResourceQuota has a status and the
	// no-op webhooks are called.
	err = Eventually(ctx, 2*time.Minute, func(ctx context.Context) error {
		q, err := kiosk.ConfigV1alpha1().AccountQuotas().Get(ctx, account, metav1.GetOptions{})
		if err != nil || len(q.Status.Namespaces) != 1 {
			return fmt.Errorf("AccountQuota %s does not count its Space yet (%v)", account, err)
		}
		rq, err := kube.CoreV1().ResourceQuotas(rqNS).Get(ctx, "quota", metav1.GetOptions{})
		if err != nil || rq.Status.Hard == nil {
			return fmt.Errorf("ResourceQuota in %s has no status yet (%v)", rqNS, err)
		}
		before, err := noop.Calls(ctx)
		if err != nil {
			return err
		}
		if _, err := kube.CoreV1().Pods(noopNS).Create(ctx, pod("probe-"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}); err != nil {
			return err
		}
		if after, err := noop.Calls(ctx); err != nil || after == before {
			return fmt.Errorf("the no-op webhooks are not called yet")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, ns := range []string{space, noopNS, rqNS} {
		if _, err := createPods(ctx, kube, ns, "warm", callers, callers); err != nil {
			return nil, err
		}
	}
	callsBefore, err := noop.Calls(ctx)
	if err != nil {
		return nil, err
	}
	for r := range rounds {
		p := fmt.Sprintf("r%03d", r)
		for _, s := range []struct {
			ns     string
			sample *Sample
		}{{space, &res.AccountQuota}, {noopNS, &res.Noop}, {rqNS, &res.ResourceQuota}} {
			d, err := createPods(ctx, kube, s.ns, p, perRound, callers)
			if err != nil {
				return nil, err
			}
			s.sample.D = append(s.sample.D, d...)
		}
	}
	callsAfter, err := noop.Calls(ctx)
	if err != nil {
		return nil, err
	}
	res.NoopCalls = callsAfter - callsBefore
	return res, nil
}

// CleanupAdmission deletes what Admission created.
func CleanupAdmission(ctx context.Context, e *Env, prefix string) error {
	kube, kiosk := e.Kube(), e.Kiosk()
	sel := metav1.ListOptions{LabelSelector: PopulationLabel + "=" + prefix}
	var jobs []func(context.Context) error
	for _, ns := range []string{prefix + "-aq-space", prefix + "-noop", prefix + "-rq"} {
		jobs = append(jobs, func(ctx context.Context) error {
			return kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		})
	}
	jobs = append(jobs,
		func(ctx context.Context) error {
			return kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
		},
		func(ctx context.Context) error {
			return kube.AdmissionregistrationV1().MutatingWebhookConfigurations().DeleteCollection(ctx, metav1.DeleteOptions{}, sel)
		},
		func(ctx context.Context) error {
			return kiosk.ConfigV1alpha1().AccountQuotas().Delete(ctx, prefix+"-aq", metav1.DeleteOptions{})
		},
		func(ctx context.Context) error {
			return kiosk.ConfigV1alpha1().Accounts().Delete(ctx, prefix+"-aq", metav1.DeleteOptions{})
		})
	return run(ctx, 4, jobs)
}

func pod(generateName string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: generateName},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx",
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
				Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
			}}}}}
}

// createPods creates n Pods in ns with callers concurrent callers and returns each create's time.
func createPods(ctx context.Context, kube kubernetes.Interface, ns, prefix string, n, callers int) ([]time.Duration, error) {
	out := make([]time.Duration, n)
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				p := pod("")
				p.Name = fmt.Sprintf("%s-%05d", prefix, i)
				start := time.Now()
				_, err := kube.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
				out[i] = time.Since(start)
				if err != nil {
					mu.Lock()
					if first == nil {
						first = fmt.Errorf("creating Pod %s/%s: %w", ns, p.Name, err)
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return out, first
}

// copyWebhooks registers, for the namespaces labelled noopLabel=prefix, a copy of every
// webhook of the product (those that select kiosk.sh/account namespaces) with the same
// rules, policies and timeouts, answered by noop. It returns the names copied.
func copyWebhooks(ctx context.Context, kube kubernetes.Interface, prefix string, noop *NoopWebhook, labels map[string]string) ([]string, error) {
	client := admissionregistrationv1.WebhookClientConfig{URL: ptr.To(noop.URL + "/noop"), CABundle: noop.CA}
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{noopLabel: prefix}}
	product := func(s *metav1.LabelSelector) bool {
		for _, r := range s.MatchExpressions {
			if r.Key == configv1alpha1.AccountLabel {
				return true
			}
		}
		_, ok := s.MatchLabels[configv1alpha1.AccountLabel]
		return ok
	}
	var names []string
	vs, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	v := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: prefix + "-noop", Labels: labels}}
	for _, c := range vs.Items {
		for _, h := range c.Webhooks {
			if h.NamespaceSelector != nil && product(h.NamespaceSelector) && !strings.HasPrefix(c.Name, prefix) {
				names = append(names, "validating "+h.Name)
				h.Name = "noop-" + h.Name
				h.ClientConfig, h.NamespaceSelector = client, selector
				v.Webhooks = append(v.Webhooks, h)
			}
		}
	}
	ms, err := kube.AdmissionregistrationV1().MutatingWebhookConfigurations().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	m := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: prefix + "-noop", Labels: labels}}
	for _, c := range ms.Items {
		for _, h := range c.Webhooks {
			if h.NamespaceSelector != nil && product(h.NamespaceSelector) && !strings.HasPrefix(c.Name, prefix) {
				names = append(names, "mutating "+h.Name)
				h.Name = "noop-" + h.Name
				h.ClientConfig, h.NamespaceSelector = client, selector
				m.Webhooks = append(m.Webhooks, h)
			}
		}
	}
	if len(v.Webhooks) == 0 {
		return nil, fmt.Errorf("no validating webhook of the product selects %s namespaces", configv1alpha1.AccountLabel)
	}
	if _, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, v, metav1.CreateOptions{}); ignoreExists(err) != nil {
		return nil, err
	}
	if len(m.Webhooks) > 0 {
		if _, err := kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, m, metav1.CreateOptions{}); ignoreExists(err) != nil {
			return nil, err
		}
	}
	return names, nil
}
