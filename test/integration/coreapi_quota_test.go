package integration

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

func pod(name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.k8s.io/pause:3.10"}}},
	}
}

// kube-apiserver calls the in-process AccountQuota webhook for a Pod created in a Space: the
// Pods within the Account's quota are admitted and charged, the one over it is refused, and
// the AccountQuota's status counts what was admitted.
func TestAccountQuotaWebhookChargesPodCreates(t *testing.T) {
	c := coreFor(t)
	ctx := ctxFor(t)
	admin := c.tenancyAs(t, "")
	c.createAccount(t, ctx, &configv1alpha1.Account{
		ObjectMeta: metav1.ObjectMeta{Name: "team-c"},
		Spec:       configv1alpha1.AccountSpec{Subjects: userSubjects("frank")},
	})
	_, err := admin.ConfigV1alpha1().AccountQuotas().Create(ctx, &configv1alpha1.AccountQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "team-c"},
		Spec: configv1alpha1.AccountQuotaSpec{Account: "team-c", Quota: corev1.ResourceQuotaSpec{
			Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("2")}}},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	c.createSpaceNamespace(t, ctx, "team-c-one", "team-c")
	// The webhook charges a namespace once the server's informers have it as a Space of
	// team-c; Pods need the default ServiceAccount kube-controller-manager creates.
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		names, err := spaceNames(ctx, admin)
		if assert.NoError(ct, err) {
			assert.Contains(ct, names, "team-c-one")
		}
		_, err = c.Kube.CoreV1().ServiceAccounts("team-c-one").Get(ctx, "default", metav1.GetOptions{})
		assert.NoError(ct, err)
	}, within, 50*time.Millisecond, "the server knows the Space and its default ServiceAccount exists")

	pods := c.Kube.CoreV1().Pods("team-c-one")
	_, err = pods.Create(ctx, pod("first"), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = pods.Create(ctx, pod("second"), metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = pods.Create(ctx, pod("third"), metav1.CreateOptions{})
	require.Error(t, err, "a third Pod over the AccountQuota of 2")
	assert.True(t, apierrors.IsForbidden(err), "refused as Forbidden: %v", err)
	assert.Contains(t, err.Error(), "exceeded quota: team-c")

	list, err := pods.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Len(t, list.Items, 2, "the Pods kube-apiserver admitted")
	require.EventuallyWithT(t, func(ct *assert.CollectT) {
		q, err := admin.ConfigV1alpha1().AccountQuotas().Get(ctx, "team-c", metav1.GetOptions{})
		if assert.NoError(ct, err) {
			assert.EqualValues(ct, 2, q.Status.Total.Used.Pods().Value())
		}
	}, within, 50*time.Millisecond, "the AccountQuota's status counts the admitted Pods")
}
