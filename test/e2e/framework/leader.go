package framework

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// The controllers' Lease, the server's defaults (--leader-elect-resource-namespace,
// --leader-elect-resource-name).
const (
	LeaseNamespace = "tenancy-system"
	LeaseName      = "tenancy-apiserver"
)

// LeaseHolder returns the holderIdentity of the controllers' Lease, "" when nobody holds it.
func (c *Cluster) LeaseHolder(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	h, err := ReadLeaseHolder(ctx, c.AdminClients(t).Kube)
	if err != nil {
		t.Fatalf("reading the Lease %s/%s: %v", LeaseNamespace, LeaseName, err)
	}
	return h
}

// ReadLeaseHolder returns the holderIdentity of the controllers' Lease, "" when nobody holds it.
func ReadLeaseHolder(ctx context.Context, kube kubernetes.Interface) (string, error) {
	lease, err := kube.CoordinationV1().Leases(LeaseNamespace).Get(ctx, LeaseName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil || lease.Spec.HolderIdentity == nil {
		return "", err
	}
	return *lease.Spec.HolderIdentity, nil
}

// identityLine is the log line in which a replica names its leader-election identity.
var identityLine = regexp.MustCompile(`"Campaigning for the controllers' Lease" .*identity="([^"]+)"`)

// Identity is the leader-election identity of the replica's running process, read from its
// log; it waits for the line up to a minute.
func (r *Replica) Identity(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("tenancy-apiserver-%d", r.Index)
	var id string
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, time.Minute, true,
		func(context.Context) (bool, error) {
			data, err := os.ReadFile(filepath.Join(r.c.Dir, "logs", name+".log"))
			if err != nil {
				return false, nil
			}
			// Only the output of the latest start: lcp::start heads each with "==== ".
			log := string(data)
			if i := strings.LastIndex(log, "\n==== "); i >= 0 {
				log = log[i:]
			}
			if m := identityLine.FindAllStringSubmatch(log, -1); len(m) > 0 {
				id = m[len(m)-1][1]
				return true, nil
			}
			return false, nil
		})
	if err != nil {
		t.Fatalf("%s logged no leader-election identity: %v\n%s", name, err, r.c.LogTail(name, 20))
	}
	return id
}

// Kill ends the replica's process with SIGKILL, as a crash would, and waits until it is gone.
func (r *Replica) Kill(t testing.TB) {
	t.Helper()
	pid := r.PID()
	if pid == 0 || !running(pid) {
		t.Fatalf("replica %d is not running", r.Index)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("killing replica %d (PID %d): %v", r.Index, pid, err)
	}
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true,
		func(context.Context) (bool, error) { return !running(pid), nil })
	if err != nil {
		t.Fatalf("replica %d (PID %d) still runs after SIGKILL", r.Index, pid)
	}
}
