package e2e

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// BenchmarkPodCreateWithIsolation creates Pods with 50 concurrent callers in two namespaces,
// one after the other in the same run, and reports the latency of each through
// kube-apiserver and their ratio:
//   - a Space of an Account with node, PriorityClass and image pull isolation and an
//     AccountQuota, so every Pod passes this server's Pod isolation webhook (mutating, and
//     mutated) and its AccountQuota webhook (validating, and charged);
//   - a plain namespace whose Pods pass one mutating and one validating webhook that admit
//     everything unchanged, served by this test on loopback: the cost of calling two webhooks
//     at all, the baseline.
//
// A third namespace, a Space of an Account with the same isolation and no AccountQuota,
// tells the isolation webhook's share from the AccountQuota charge's.
//
// Run it with make bench-e2e.
func BenchmarkPodCreateWithIsolation(b *testing.B) {
	ctx := context.Background()
	cfg := cluster.Config(b)
	cfg.QPS = -1
	kube := framework.NewClients(b, cfg).Kube
	admin := cluster.AdminClients(b)
	account := framework.UniqueName("isobench")
	space, plain, class := account+"-space", account+"-plain", account+"-default"
	// A second Account with the same isolation and no AccountQuota: its Pods pass both
	// webhooks too, but the AccountQuota webhook has nothing to charge.
	unquoted := account + "-nq"
	unquotedSpace := unquoted + "-space"

	noop := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		review := &admissionv1.AdmissionReview{}
		if err := json.NewDecoder(r.Body).Decode(review); err != nil || review.Request == nil {
			http.Error(w, "not an AdmissionReview", http.StatusBadRequest)
			return
		}
		review.Response = &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
		review.Request = nil
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(review)
	}))
	b.Cleanup(noop.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: noop.Certificate().Raw})
	hook := func(name string) admissionregistrationv1.WebhookClientConfig {
		return admissionregistrationv1.WebhookClientConfig{URL: ptr.To(noop.URL + "/" + name), CABundle: ca}
	}
	selector := &metav1.LabelSelector{MatchLabels: map[string]string{"bench.kiosk.sh/noop": account}}
	rules := []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}}}
	none := admissionregistrationv1.SideEffectClassNone
	_, err := kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: account}, Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name: "noop-mutating.bench.kiosk.sh", ClientConfig: hook("mutate"), Rules: rules, NamespaceSelector: selector,
			SideEffects: &none, AdmissionReviewVersions: []string{"v1"}}}}, metav1.CreateOptions{})
	require.NoError(b, err)
	_, err = kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: account}, Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name: "noop-validating.bench.kiosk.sh", ClientConfig: hook("validate"), Rules: rules, NamespaceSelector: selector,
			SideEffects: &none, AdmissionReviewVersions: []string{"v1"}}}}, metav1.CreateOptions{})
	require.NoError(b, err)
	_, err = kube.SchedulingV1().PriorityClasses().Create(ctx, &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: class}, Value: 10}, metav1.CreateOptions{})
	require.NoError(b, err)
	iso := configv1alpha1.AccountIsolation{
		Nodes: &configv1alpha1.AccountNodeIsolation{NodeSelector: map[string]string{isolationKey: account},
			Tolerations: []corev1.Toleration{{Key: "e2e-tenant", Operator: corev1.TolerationOpEqual, Value: account, Effect: corev1.TaintEffectNoSchedule}}},
		PriorityClasses:  &configv1alpha1.AccountPriorityClasses{Allowed: []string{class}, Default: class},
		AlwaysPullImages: true,
	}
	for _, name := range []string{account, unquoted} {
		_, err = admin.Kiosk.ConfigV1alpha1().Accounts().Create(ctx, &configv1alpha1.Account{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: configv1alpha1.AccountSpec{Isolation: iso}}, metav1.CreateOptions{})
		require.NoError(b, err)
	}
	hard := corev1.ResourceList{corev1.ResourcePods: resource.MustParse("100000")}
	_, err = admin.Kiosk.ConfigV1alpha1().AccountQuotas().Create(ctx, &configv1alpha1.AccountQuota{ObjectMeta: metav1.ObjectMeta{Name: account},
		Spec: configv1alpha1.AccountQuotaSpec{Account: account, Quota: corev1.ResourceQuotaSpec{Hard: hard}}}, metav1.CreateOptions{})
	require.NoError(b, err)
	for ns, labels := range map[string]map[string]string{
		space:         {configv1alpha1.AccountLabel: account},
		unquotedSpace: {configv1alpha1.AccountLabel: unquoted},
		plain:         {"bench.kiosk.sh/noop": account},
	} {
		_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: labels}}, metav1.CreateOptions{})
		require.NoError(b, err)
	}
	b.Cleanup(func() {
		bg := context.Background()
		deleted(b, "Namespace "+space, kube.CoreV1().Namespaces().Delete(bg, space, metav1.DeleteOptions{}))
		deleted(b, "Namespace "+plain, kube.CoreV1().Namespaces().Delete(bg, plain, metav1.DeleteOptions{}))
		deleted(b, "Namespace "+unquotedSpace, kube.CoreV1().Namespaces().Delete(bg, unquotedSpace, metav1.DeleteOptions{}))
		deleted(b, "Account "+unquoted, admin.Kiosk.ConfigV1alpha1().Accounts().Delete(bg, unquoted, metav1.DeleteOptions{}))
		deleted(b, "MutatingWebhookConfiguration "+account, kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Delete(bg, account, metav1.DeleteOptions{}))
		deleted(b, "ValidatingWebhookConfiguration "+account, kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Delete(bg, account, metav1.DeleteOptions{}))
		deleted(b, "AccountQuota "+account, admin.Kiosk.ConfigV1alpha1().AccountQuotas().Delete(bg, account, metav1.DeleteOptions{}))
		deleted(b, "Account "+account, admin.Kiosk.ConfigV1alpha1().Accounts().Delete(bg, account, metav1.DeleteOptions{}))
		deleted(b, "PriorityClass "+class, kube.SchedulingV1().PriorityClasses().Delete(bg, class, metav1.DeleteOptions{}))
	})
	eventually(b, "the quota counts the Space and a Pod there is isolated", func(ctx context.Context) bool {
		q, err := admin.Kiosk.ConfigV1alpha1().AccountQuotas().Get(ctx, account, metav1.GetOptions{})
		if err != nil || len(q.Status.Namespaces) != 1 {
			return false
		}
		pod, err := kube.CoreV1().Pods(space).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "probe-"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err == nil && pod.Spec.NodeSelector[isolationKey] == account && pod.Spec.PriorityClassName == class
	})
	// Warm every path (connections, caches) before measuring.
	for _, ns := range []string{space, unquotedSpace, plain} {
		createPods(b, kube, ns, "warm", 50)
	}

	// The machine is shared: the three take turns in rounds, so that a change of load
	// weighs on all of them alike.
	const rounds = 5
	var isolated, unquotedIsolated, baseline []time.Duration
	before := metricHistogram(b, "tenancy_pod_isolation_admission_duration_seconds_bucket{", `result="mutated"`)
	b.ResetTimer()
	for r := range rounds {
		n := b.N / rounds
		if r == 0 {
			n += b.N % rounds
		}
		prefix := "bench-" + strconv.Itoa(r)
		isolated = append(isolated, createPods(b, kube, space, prefix, n)...)
		unquotedIsolated = append(unquotedIsolated, createPods(b, kube, unquotedSpace, prefix, n)...)
		baseline = append(baseline, createPods(b, kube, plain, prefix, n)...)
	}
	b.StopTimer()
	handler := metricHistogram(b, "tenancy_pod_isolation_admission_duration_seconds_bucket{", `result="mutated"`).minus(before)
	for _, s := range [][]time.Duration{isolated, unquotedIsolated, baseline} {
		slices.Sort(s)
	}
	pod, err := kube.CoreV1().Pods(space).Get(ctx, "bench-0-00000", metav1.GetOptions{})
	require.NoError(b, err)
	require.Equal(b, corev1.PullAlways, pod.Spec.Containers[0].ImagePullPolicy, "the measured Pods were mutated")

	p := func(s []time.Duration, q int) float64 { return float64(s[len(s)*q/100].Microseconds()) / 1000 }
	b.ReportMetric(handler.quantile(0.50)*1000, "handler-p50-le-ms")
	b.ReportMetric(handler.quantile(0.90)*1000, "handler-p90-le-ms")
	b.ReportMetric(p(isolated, 50), "isolation-p50-ms")
	b.ReportMetric(p(isolated, 90), "isolation-p90-ms")
	b.ReportMetric(p(unquotedIsolated, 50), "isolation-noquota-p50-ms")
	b.ReportMetric(p(unquotedIsolated, 90), "isolation-noquota-p90-ms")
	b.ReportMetric(p(baseline, 50), "noop-p50-ms")
	b.ReportMetric(p(baseline, 90), "noop-p90-ms")
	b.ReportMetric(p(isolated, 50)/p(baseline, 50), "ratio-p50")
	b.ReportMetric(p(isolated, 90)/p(baseline, 90), "ratio-p90")
	b.ReportMetric(p(unquotedIsolated, 50)/p(baseline, 50), "ratio-noquota-p50")
	b.ReportMetric(p(unquotedIsolated, 90)/p(baseline, 90), "ratio-noquota-p90")
	b.Logf("%d Pods each: isolation+AccountQuota p50 %.1f ms p90 %.1f ms; isolation, nothing to charge p50 %.1f ms p90 %.1f ms; no-op webhooks p50 %.1f ms p90 %.1f ms",
		len(isolated), p(isolated, 50), p(isolated, 90), p(unquotedIsolated, 50), p(unquotedIsolated, 90), p(baseline, 50), p(baseline, 90))
}
