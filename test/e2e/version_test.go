package e2e

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The suite tests the work tree's build: every replica serves its commit and tree state, even
// when the control plane was started from an older binary.
func TestReplicasServeTheWorkTreesBuild(t *testing.T) {
	want, err := cluster.CurrentBuild()
	require.NoError(t, err)
	for i := range cluster.Replicas() {
		served, err := cluster.Replica(i).ServedVersion(context.Background())
		require.NoError(t, err)
		assert.Equal(t, want.Commit, served.GitCommit, "replica %d", i)
		assert.Equal(t, want.TreeState(), served.GitTreeState, "replica %d", i)
		t.Logf("replica %d serves %s (gitTreeState %s, built %s)", i, served.GitCommit, served.GitTreeState, served.BuildDate)
	}
}
