package e2e

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// An extra replica serves the same objects as the one behind the APIServices, and each
// replica can be reached directly.
func TestExtraReplicaSharesStorage(t *testing.T) {
	ctx := context.Background()
	extra := cluster.StartReplica(t)
	direct := extra.Clients(t).Kiosk.ConfigV1alpha1()
	viaAggregator := cluster.AdminClients(t).Kiosk.ConfigV1alpha1()
	first := cluster.Replica(0).Clients(t).Kiosk.ConfigV1alpha1()

	names := []string{framework.UniqueName("e2e-replica-direct"), framework.UniqueName("e2e-replica-aggregated")}
	for _, n := range names {
		t.Cleanup(func() { deleted(t, "Template "+n, viaAggregator.Templates().Delete(ctx, n, metav1.DeleteOptions{})) })
	}

	// Written through the extra replica, read through kube-apiserver and replica 0.
	created, err := direct.Templates().Create(ctx, &configv1alpha1.Template{
		ObjectMeta: metav1.ObjectMeta{Name: names[0]},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	got, err := viaAggregator.Templates().Get(ctx, names[0], metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, created.UID, got.UID)
	got, err = first.Templates().Get(ctx, names[0], metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, created.UID, got.UID)

	// Written through kube-apiserver, read through the extra replica.
	created, err = viaAggregator.Templates().Create(ctx, &configv1alpha1.Template{
		ObjectMeta: metav1.ObjectMeta{Name: names[1]},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	got, err = direct.Templates().Get(ctx, names[1], metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, created.UID, got.UID)
}
