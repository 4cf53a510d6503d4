package framework

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// replicaTimeout bounds starting or stopping one tenancy-apiserver.
const replicaTimeout = 3 * time.Minute

// Replica is one tenancy-apiserver process of the local control plane. Replica 0 is the one the
// APIServices point to; the others are reached directly.
type Replica struct {
	Index int
	// URL is the replica's own address, https://127.0.0.1:<port>.
	URL string
	c   *Cluster
}

// Replicas is the number of replicas hack/local-up.sh started, 0 to Replicas()-1.
func (c *Cluster) Replicas() int { return c.replicas }

// Replica returns the replica with index i.
func (c *Cluster) Replica(i int) *Replica {
	base, _ := strconv.Atoi(c.Env["TENANCY_PORT"])
	return &Replica{Index: i, URL: fmt.Sprintf("https://127.0.0.1:%d", base+i), c: c}
}

// Config reaches the replica directly as the admin, bypassing kube-apiserver.
func (r *Replica) Config() *rest.Config { return r.c.replicaConfig(r.URL) }

// Clients are the admin's clients talking to the replica directly.
func (r *Replica) Clients(t testing.TB) Clients {
	t.Helper()
	return NewClients(t, r.Config())
}

// Start starts the replica with the default flags followed by flags, and waits until /readyz
// answers ok.
func (r *Replica) Start(t testing.TB, flags ...string) {
	t.Helper()
	r.control(t, "start", flags...)
}

// Stop stops the replica: SIGTERM, then SIGKILL if it lingers.
func (r *Replica) Stop(t testing.TB) {
	t.Helper()
	r.control(t, "stop")
}

// Restart stops the replica and starts it again with the default flags followed by flags.
func (r *Replica) Restart(t testing.TB, flags ...string) {
	t.Helper()
	r.control(t, "restart", flags...)
}

func (r *Replica) control(t testing.TB, cmd string, flags ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), replicaTimeout)
	defer cancel()
	var out bytes.Buffer
	if err := r.script(ctx, &out, cmd, flags...); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	t.Logf("tenancy-apiserver.sh %s %d %v:\n%s", cmd, r.Index, flags, out.String())
}

// script runs hack/lib/tenancy-apiserver.sh CMD INDEX FLAG... for the replica, within
// replicaTimeout.
func (r *Replica) script(ctx context.Context, out io.Writer, cmd string, flags ...string) error {
	ctx, cancel := context.WithTimeout(ctx, replicaTimeout)
	defer cancel()
	args := append([]string{cmd, strconv.Itoa(r.Index)}, flags...)
	if err := r.c.script(ctx, out, "hack/lib/tenancy-apiserver.sh", args...); err != nil {
		return fmt.Errorf("tenancy-apiserver.sh %v: %w", args, err)
	}
	return nil
}

// RestartTenancy restarts replica 0, the one kube-apiserver proxies to, with the default flags
// followed by flags, and waits until every APIService is Available again. When flags are given,
// replica 0 is restarted with the default flags when the test ends.
func (c *Cluster) RestartTenancy(t testing.TB, flags ...string) {
	t.Helper()
	c.Replica(0).Restart(t, flags...)
	if len(flags) > 0 {
		t.Cleanup(func() {
			c.Replica(0).Restart(t)
			if err := c.WaitAPIServicesAvailable(context.Background(), 2*time.Minute); err != nil {
				t.Errorf("after restoring replica 0: %v", err)
			}
		})
	}
	if err := c.WaitAPIServicesAvailable(context.Background(), 2*time.Minute); err != nil {
		t.Fatalf("after restarting tenancy-apiserver: %v\n%s", err, c.LogTail("tenancy-apiserver-0", 40))
	}
}

// StartReplica starts one more tenancy-apiserver sharing the storage of the others, with the
// default flags followed by flags. It is stopped when the test ends.
func (c *Cluster) StartReplica(t testing.TB, flags ...string) *Replica {
	t.Helper()
	r := c.Replica(c.nextReplica)
	c.nextReplica++
	t.Cleanup(func() { r.Stop(t) })
	r.Start(t, flags...)
	return r
}

// PID is the process ID recorded for the replica, or 0 when none is recorded.
func (r *Replica) PID() int {
	return r.c.recordedPIDs()[fmt.Sprintf("tenancy-apiserver-%d", r.Index)]
}

// PID is the process ID recorded for a process of the control plane, such as
// "kube-apiserver", or 0 when none is recorded.
func (c *Cluster) PID(name string) int {
	return c.recordedPIDs()[name]
}
