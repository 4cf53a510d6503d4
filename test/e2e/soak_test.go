package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenancy-apiserver/tenancy-apiserver/hack/scenarios/soak"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// soakDuration is how long TestSoak churns unless SOAK_DURATION says otherwise (make
// scenario-soak DURATION=30m).
const soakDuration = 3 * time.Minute

// Tenants create and delete Spaces, Pods and ConfigMaps under their limits and quotas while
// RoleBindings come and go and the mandatory Template changes; every few seconds every user's
// Space list is compared with SubjectAccessReview, every AccountQuota's usage with the objects
// and every Space's copy of the Template with the Template (hack/scenarios/soak). Any
// mismatch fails the test. The report, with the server's RSS and goroutines over time and the
// request error rates, goes to _output/scenarios/soak-<time>/.
func TestSoak(t *testing.T) {
	d := soakDuration
	if s := os.Getenv("SOAK_DURATION"); s != "" {
		var err error
		d, err = time.ParseDuration(s)
		require.NoError(t, err, "SOAK_DURATION")
	}
	replica := cluster.Replica(0)
	cfg := soak.Config{
		Admin:     cluster.Config(t),
		Server:    replica.Config(),
		ServerPID: replica.PID,
		Duration:  d,
		Prefix:    framework.UniqueName("soak"),
		Log:       t.Logf,
	}
	ctx, cancel := context.WithTimeout(context.Background(), d+10*time.Minute)
	defer cancel()
	report, err := soak.Run(ctx, cfg)
	require.NoError(t, err)
	dir := filepath.Join(cluster.Root, "_output", "scenarios", "soak-"+report.Started.Format("20060102-150405"))
	require.NoError(t, soak.WriteReport(dir, report))
	t.Logf("report in %s:\n%s", dir, report.Markdown())

	assert.Zero(t, report.Mismatches, "mismatches between the server's answers and the truth: %v", report.MismatchDetails)
	assert.Empty(t, report.CheckErrors, "checks that could not run")
	assert.Greater(t, report.Checks, 0, "checks run")
	assert.NotEmpty(t, report.Samples, "samples of the server's RSS and goroutines")
	for _, o := range report.Ops {
		assert.Greater(t, o.Requests-o.Errors, 0, "operation %q succeeded or was refused at least once", o.Op)
	}
}
