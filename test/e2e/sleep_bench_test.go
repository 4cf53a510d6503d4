package e2e

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/sleep"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// activityWebhook is the name of the activity webhook's configuration in artifacts/deploy.
const activityWebhook = "tenancy-apiserver-activity"

// BenchmarkWriteWithSleepMode creates ConfigMaps one at a time in a Space with sleep mode on
// (sleep-after set, so that every write passes the activity webhook and is recorded), with
// the activity webhook configured and, in turns of the same run, with it removed (sleep mode
// off, as the chart's sleepMode.enabled: false leaves it). It reports the p50 and p90 of each,
// what the webhook adds (on minus off), and the bucket bound under which half of the
// webhook's own answers fall (its duration metric). A Space without sleep mode annotations, with the
// webhook configured, tells the webhook call's share from the recording's.
//
// The benchmark removes and restores the cluster's activity webhook configuration: run it
// alone (make bench-e2e).
func BenchmarkWriteWithSleepMode(b *testing.B) {
	ctx := context.Background()
	cfg := cluster.Config(b)
	cfg.QPS = -1
	kube := framework.NewClients(b, cfg).Kube
	admin := cluster.AdminClients(b)
	account := framework.UniqueName("sleepbench")
	on, unset := account+"-on", account+"-unset"
	_, err := admin.Kiosk.ConfigV1alpha1().Accounts().Create(ctx, &configv1alpha1.Account{ObjectMeta: metav1.ObjectMeta{Name: account}}, metav1.CreateOptions{})
	require.NoError(b, err)
	for ns, annotations := range map[string]map[string]string{on: {sleep.SleepAfter: "86400"}, unset: nil} {
		_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns,
			Labels: map[string]string{configv1alpha1.AccountLabel: account}, Annotations: annotations}}, metav1.CreateOptions{})
		require.NoError(b, err)
	}
	saved, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, activityWebhook, metav1.GetOptions{})
	require.NoError(b, err)
	saved = &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: saved.Name, Labels: saved.Labels}, Webhooks: saved.Webhooks}
	b.Cleanup(func() {
		bg := context.Background()
		if _, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(bg, activityWebhook, metav1.GetOptions{}); err != nil {
			_, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(bg, saved, metav1.CreateOptions{})
			require.NoError(b, err, "restoring the activity webhook")
		}
		deleted(b, "Namespace "+on, kube.CoreV1().Namespaces().Delete(bg, on, metav1.DeleteOptions{}))
		deleted(b, "Namespace "+unset, kube.CoreV1().Namespaces().Delete(bg, unset, metav1.DeleteOptions{}))
		deleted(b, "Account "+account, admin.Kiosk.ConfigV1alpha1().Accounts().Delete(bg, account, metav1.DeleteOptions{}))
	})
	webhookOn := func(want bool) {
		b.Helper()
		if want {
			_, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, saved, metav1.CreateOptions{})
			require.NoError(b, err)
		} else {
			require.NoError(b, kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(ctx, activityWebhook, metav1.DeleteOptions{}))
		}
		// kube-apiserver sees the change through its informer: wait until three writes in a
		// row do (or do not) reach the webhook.
		streak := 0
		eventually(b, fmt.Sprintf("kube-apiserver calls the activity webhook: %v", want), func(ctx context.Context) bool {
			before := activityCalls(b)
			_, err := kube.CoreV1().ConfigMaps(on).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{GenerateName: "probe-"}},
				metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			require.NoError(b, err)
			if (activityCalls(b) > before) == want {
				streak++
			} else {
				streak = 0
			}
			return streak >= 3
		})
	}
	// Warm every path (connections, caches) before measuring.
	createConfigMaps(b, kube, on, "warm", 50)
	createConfigMaps(b, kube, unset, "warm", 50)
	eventually(b, "the Space's activity is recorded", func(ctx context.Context) bool {
		ns, err := kube.CoreV1().Namespaces().Get(ctx, on, metav1.GetOptions{})
		return err == nil && ns.Annotations[sleep.LastActivity] != ""
	})

	// The machine is shared: the three take turns in rounds, so that a change of load
	// weighs on all of them alike.
	const rounds = 5
	var withHook, without, unsetHook []time.Duration
	before := metricHistogram(b, "tenancy_sleep_activity_webhook_duration_seconds_bucket{", "le=")
	b.ResetTimer()
	for r := range rounds {
		n := b.N / rounds
		if r == 0 {
			n += b.N % rounds
		}
		prefix := fmt.Sprintf("bench-%d", r)
		withHook = append(withHook, createConfigMaps(b, kube, on, prefix, n)...)
		unsetHook = append(unsetHook, createConfigMaps(b, kube, unset, prefix, n)...)
		b.StopTimer()
		webhookOn(false)
		b.StartTimer()
		without = append(without, createConfigMaps(b, kube, on, prefix+"-off", n)...)
		b.StopTimer()
		webhookOn(true)
		b.StartTimer()
	}
	b.StopTimer()
	handler := metricHistogram(b, "tenancy_sleep_activity_webhook_duration_seconds_bucket{", "le=").minus(before)
	for _, s := range [][]time.Duration{withHook, without, unsetHook} {
		slices.Sort(s)
	}
	p := func(s []time.Duration, q int) float64 { return float64(s[len(s)*q/100].Microseconds()) / 1000 }
	b.ReportMetric(p(withHook, 50), "on-p50-ms")
	b.ReportMetric(p(withHook, 90), "on-p90-ms")
	b.ReportMetric(p(without, 50), "off-p50-ms")
	b.ReportMetric(p(without, 90), "off-p90-ms")
	b.ReportMetric(p(unsetHook, 50), "unannotated-p50-ms")
	b.ReportMetric(handler.quantile(0.50)*1000, "handler-p50-le-ms")
	b.ReportMetric(p(withHook, 50)-p(without, 50), "added-p50-ms")
	b.ReportMetric(p(withHook, 90)-p(without, 90), "added-p90-ms")
	b.Logf("%d writes each: sleep mode on p50 %.2f ms p90 %.2f ms; webhook removed p50 %.2f ms p90 %.2f ms; Space without sleep mode, webhook on p50 %.2f ms; added p50 %.2f ms",
		len(withHook), p(withHook, 50), p(withHook, 90), p(without, 50), p(without, 90), p(unsetHook, 50), p(withHook, 50)-p(without, 50))
}

// activityCalls is how many requests the activity webhook of replica 0 has answered.
func activityCalls(b testing.TB) float64 {
	return metricHistogram(b, "tenancy_sleep_activity_webhook_duration_seconds_bucket{", `le="+Inf"`)[math.Inf(1)]
}

// createConfigMaps creates n ConfigMaps in namespace one after the other and returns how
// long each create took.
func createConfigMaps(b testing.TB, kube kubernetes.Interface, namespace, prefix string, n int) []time.Duration {
	samples := make([]time.Duration, 0, n)
	for i := range n {
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%05d", prefix, i)}, Data: map[string]string{"k": "v"}}
		start := time.Now()
		_, err := kube.CoreV1().ConfigMaps(namespace).Create(context.Background(), cm, metav1.CreateOptions{})
		samples = append(samples, time.Since(start))
		require.NoError(b, err, "creating configmap %s/%s", namespace, cm.Name)
	}
	return samples
}
