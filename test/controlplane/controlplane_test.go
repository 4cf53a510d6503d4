package controlplane

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Start brings up a kube-apiserver that serves the admin, and Stop ends every process and
// removes the directory.
func TestStartServesTheAdminAndStopLeavesNothing(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := Start(ctx)
	require.NoError(t, err)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			assert.NoError(t, c.Stop())
		}
	})
	cfg, err := c.AdminConfig()
	require.NoError(t, err)
	kube, err := kubernetes.NewForConfig(cfg)
	require.NoError(t, err)
	_, err = kube.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
	require.NoError(t, err)

	// kube-apiserver trusts the local OIDC issuer, with the prefixed user and groups.
	token, err := c.OIDCToken(ctx, "dev", "team-a")
	require.NoError(t, err)
	user, err := c.whoAmI(ctx, token)
	require.NoError(t, err)
	assert.Equal(t, "oidc:dev", user.Username)
	assert.ElementsMatch(t, []string{"oidc:team-a", "system:authenticated"}, user.Groups)

	pids := make([]int, 0, len(c.procs))
	for _, p := range c.procs {
		pids = append(pids, p.cmd.Process.Pid)
	}
	require.Len(t, pids, 4)
	stopped = true
	require.NoError(t, c.Stop())
	for _, pid := range pids {
		assert.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "PID %d still exists", pid)
	}
	_, err = os.Stat(c.Dir)
	assert.True(t, os.IsNotExist(err), "%s is still there", c.Dir)
}
