package framework

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"
)

// ShareEtcd makes the tenancy etcd outlive every replica, so that any replica may stop: when
// replica 0 embeds it (REPLICAS=1, the default), it stops replica 0, runs the same data
// directory and port as a process of its own (hack/lib/tenancy-etcd.sh), and starts replica 0
// again on it with flags. When the test ends, the embedded layout is restored. On a control
// plane started with REPLICAS>1 the etcd is already shared, and only flags are applied.
func (c *Cluster) ShareEtcd(t testing.TB, flags ...string) {
	t.Helper()
	first := c.Replica(0)
	if c.Env["TENANCY_ETCD_MODE"] != "embedded" {
		if len(flags) > 0 {
			c.RestartTenancy(t, flags...)
		}
		return
	}
	first.Stop(t)
	t.Cleanup(func() {
		first.Stop(t)
		c.etcd(t, "stop")
		first.Start(t)
		if err := c.WaitAPIServicesAvailable(context.Background(), 2*time.Minute); err != nil {
			t.Errorf("after restoring replica 0 on its embedded etcd: %v", err)
		}
	})
	c.etcd(t, "start")
	first.Start(t, append(c.EtcdFlags(t), flags...)...)
	if err := c.WaitAPIServicesAvailable(context.Background(), 2*time.Minute); err != nil {
		t.Fatalf("after moving replica 0 to the shared etcd: %v\n%s", err, c.LogTail("tenancy-apiserver-0", 40))
	}
}

// SharedReplicas returns n replicas on one etcd that outlives each of them (ShareEtcd): the
// replicas the control plane runs first, then as many more as needed, started for the test
// and stopped when it ends.
func (c *Cluster) SharedReplicas(t testing.TB, n int) []*Replica {
	t.Helper()
	c.ShareEtcd(t)
	running, _ := strconv.Atoi(c.Env["REPLICAS"])
	var out []*Replica
	for i := range n {
		if i < running {
			out = append(out, c.Replica(i))
		} else {
			out = append(out, c.StartReplica(t))
		}
	}
	return out
}

func (c *Cluster) etcd(t testing.TB, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), replicaTimeout)
	defer cancel()
	var out bytes.Buffer
	if err := c.script(ctx, &out, "hack/lib/tenancy-etcd.sh", args...); err != nil {
		t.Fatalf("tenancy-etcd.sh %v: %v\n%s", args, err, out.String())
	}
	t.Logf("tenancy-etcd.sh %v:\n%s", args, out.String())
}
