package framework

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// EtcdCluster is the tenancy etcd as a cluster of members with peer and client TLS
// (hack/lib/tenancy-etcd.sh), which tenancy-apiserver's replicas store in.
type EtcdCluster struct {
	c *Cluster
	// Members is the number of members.
	Members int
}

// EtcdFlags are the flags that point a replica at the tenancy etcd outside it: the shared
// etcd process, or the etcd cluster with its TLS files on a control plane started with
// ETCD_MEMBERS>1.
func (c *Cluster) EtcdFlags(t testing.TB) []string {
	t.Helper()
	members := c.Env["ETCD_MEMBERS"]
	if members == "" {
		members = "1"
	}
	return c.etcdFlags(t, members)
}

func (c *Cluster) etcdFlags(t testing.TB, members string) []string {
	t.Helper()
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.script(ctx, &out, "hack/lib/tenancy-etcd.sh", "flags", members); err != nil {
		t.Fatalf("tenancy-etcd.sh flags %s: %v\n%s", members, err, out.String())
	}
	return strings.Fields(out.String())
}

// UseEtcdCluster returns the tenancy etcd cluster of n members that replica 0 stores in. On a
// control plane started with ETCD_MEMBERS=n it is the one in use. On one whose replica 0 embeds
// its etcd (the default), replica 0 is stopped, a cluster of n members is started on a data
// directory of its own, and replica 0 starts again on it; when the test ends, replica 0 is
// stopped, the cluster stopped and its data removed, and replica 0 started on its embedded etcd.
// Objects the test leaves in the cluster are gone then: it must delete what it made in
// kube-apiserver (Namespaces) itself.
func (c *Cluster) UseEtcdCluster(t testing.TB, n int) *EtcdCluster {
	t.Helper()
	e := &EtcdCluster{c: c, Members: n}
	switch mode := c.Env["TENANCY_ETCD_MODE"]; {
	case mode == "cluster" && c.Env["ETCD_MEMBERS"] == strconv.Itoa(n):
		return e
	case mode != "embedded" || c.replicas != 1:
		t.Fatalf("an etcd cluster of %d members needs a control plane started with ETCD_MEMBERS=%d, or one replica on its embedded etcd; this one runs %s etcd (ETCD_MEMBERS=%s) with %d replica(s)",
			n, n, mode, c.Env["ETCD_MEMBERS"], c.replicas)
	}
	first := c.Replica(0)
	first.Stop(t)
	t.Cleanup(func() {
		first.Stop(t)
		c.etcd(t, "stop")
		if err := os.RemoveAll(filepath.Join(c.Dir, "tenancy-etcd-cluster")); err != nil {
			t.Errorf("removing the etcd cluster's data: %v", err)
		}
		first.Start(t)
		if err := c.WaitAPIServicesAvailable(context.Background(), 2*time.Minute); err != nil {
			t.Errorf("after restoring replica 0 on its embedded etcd: %v", err)
		}
	})
	if err := os.RemoveAll(filepath.Join(c.Dir, "tenancy-etcd-cluster")); err != nil {
		t.Fatalf("removing an earlier etcd cluster's data: %v", err)
	}
	c.etcd(t, "start", strconv.Itoa(n))
	first.Start(t, c.etcdFlags(t, strconv.Itoa(n))...)
	if err := c.WaitAPIServicesAvailable(context.Background(), 2*time.Minute); err != nil {
		t.Fatalf("after moving replica 0 to the etcd cluster: %v\n%s", err, c.LogTail("tenancy-apiserver-0", 40))
	}
	return e
}

// Name is the process name of member i, as in the control plane's pids/ and logs/.
func (e *EtcdCluster) Name(i int) string { return fmt.Sprintf("tenancy-etcd-%d", i) }

// Endpoint is member i's client URL.
func (e *EtcdCluster) Endpoint(i int) string {
	port, _ := strconv.Atoi(e.c.Env["TENANCY_ETCD_PORT"])
	return fmt.Sprintf("https://127.0.0.1:%d", port+10*i)
}

// Kill ends member i at once with SIGKILL, as a crash or a lost machine does, and waits until
// the process is gone.
func (e *EtcdCluster) Kill(t testing.TB, i int) {
	t.Helper()
	pid := e.c.PID(e.Name(i))
	if pid == 0 || !running(pid) {
		t.Fatalf("etcd member %d is not running", i)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing etcd member %d (PID %d): %v", i, pid, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for running(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("etcd member %d (PID %d) still runs 10s after SIGKILL", i, pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Start starts member i again and waits until it is ready (which needs a quorum).
func (e *EtcdCluster) Start(t testing.TB, i int) {
	t.Helper()
	e.c.etcd(t, "start-member", strconv.Itoa(i))
}

// StartMembers starts the members given without waiting for any of them, for a cluster
// that has lost its quorum: none is ready until a quorum runs. Use WaitHealthy after.
func (e *EtcdCluster) StartMembers(t testing.TB, members ...int) {
	t.Helper()
	errs := make(chan error, len(members))
	for _, i := range members {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), replicaTimeout)
			defer cancel()
			var out bytes.Buffer
			err := e.c.script(ctx, &out, "hack/lib/tenancy-etcd.sh", "start-member", strconv.Itoa(i))
			if err != nil {
				err = fmt.Errorf("tenancy-etcd.sh start-member %d: %w\n%s", i, err, out.String())
			}
			errs <- err
		}()
	}
	for range members {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// StopAll stops every member (SIGTERM, then SIGKILL).
func (e *EtcdCluster) StopAll(t testing.TB) {
	t.Helper()
	e.c.etcd(t, "stop")
}

// StartAll starts every member and waits until each is ready.
func (e *EtcdCluster) StartAll(t testing.TB) {
	t.Helper()
	e.c.etcd(t, "start", strconv.Itoa(e.Members))
}

// client is an etcd client of the members given, with tenancy-apiserver's client certificate.
func (e *EtcdCluster) client(members ...int) (*clientv3.Client, error) {
	pki := filepath.Join(e.c.Dir, "pki")
	tlsInfo := transport.TLSInfo{
		CertFile:      filepath.Join(pki, "tenancy-apiserver-etcd-client.crt"),
		KeyFile:       filepath.Join(pki, "tenancy-apiserver-etcd-client.key"),
		TrustedCAFile: filepath.Join(pki, "etcd-ca.crt"),
	}
	tlsConfig, err := tlsInfo.ClientConfig()
	if err != nil {
		return nil, err
	}
	var endpoints []string
	for _, i := range members {
		endpoints = append(endpoints, e.Endpoint(i))
	}
	return clientv3.New(clientv3.Config{Endpoints: endpoints, TLS: tlsConfig, DialTimeout: 5 * time.Second})
}

// Leader is the index of the member that leads, once the running members agree on one.
func (e *EtcdCluster) Leader(t testing.TB) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		i, err := e.leader()
		if err == nil {
			return i
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no etcd leader within 30s: %v", last)
	return -1
}

func (e *EtcdCluster) leader() (int, error) {
	ids := map[uint64]int{}
	var leader uint64
	for i := range e.Members {
		if pid := e.c.PID(e.Name(i)); pid == 0 || !running(pid) {
			continue
		}
		cli, err := e.client(i)
		if err != nil {
			return -1, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := cli.Status(ctx, e.Endpoint(i))
		cancel()
		_ = cli.Close()
		if err != nil {
			return -1, fmt.Errorf("status of member %d: %w", i, err)
		}
		ids[st.Header.MemberId] = i
		if st.Leader == 0 || leader != 0 && st.Leader != leader {
			return -1, fmt.Errorf("member %d sees leader %x, another %x", i, st.Leader, leader)
		}
		leader = st.Leader
	}
	i, ok := ids[leader]
	if !ok {
		return -1, fmt.Errorf("leader %x is not among the running members", leader)
	}
	return i, nil
}
