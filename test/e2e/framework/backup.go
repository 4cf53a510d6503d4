package framework

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// backupTimeout bounds a save or a restore, which restarts every replica.
const backupTimeout = 5 * time.Minute

// BackupTenancyEtcd saves a snapshot of the tenancy etcd to file with hack/backup.sh.
func (c *Cluster) BackupTenancyEtcd(t testing.TB, file string) {
	t.Helper()
	c.backup(t, "save", file)
}

// RestoreTenancyEtcd restores file into the tenancy etcd with hack/backup.sh, which stops and
// starts the replicas (and the shared etcd when one runs), then waits until the APIServices
// are Available again, so the tests after it find a healthy control plane.
func (c *Cluster) RestoreTenancyEtcd(t testing.TB, file string) {
	t.Helper()
	c.backup(t, "restore", file)
	if err := c.WaitAPIServicesAvailable(context.Background(), 2*time.Minute); err != nil {
		t.Fatalf("after the restore: %v\n%s", err, c.LogTail("tenancy-apiserver-0", 40))
	}
}

func (c *Cluster) backup(t testing.TB, cmd, file string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), backupTimeout)
	defer cancel()
	var out bytes.Buffer
	if err := c.script(ctx, &out, "hack/backup.sh", cmd, file); err != nil {
		t.Fatalf("backup.sh %s %s: %v\n%s", cmd, file, err, out.String())
	}
	t.Logf("backup.sh %s %s:\n%s", cmd, file, out.String())
}
