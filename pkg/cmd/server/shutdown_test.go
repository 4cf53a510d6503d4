package server_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/cmd/server/servertest"
)

// openWatchStreams is the number of watch streams open on the etcd servers of this process,
// as etcd counts them.
func openWatchStreams(t *testing.T) float64 {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "etcd_debugging_mvcc_watch_stream_total" {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("etcd_debugging_mvcc_watch_stream_total is not among the process's metrics")
	return 0
}

// Once the server has shut down, every storage it opened is closed and no watch stream is
// left open on its embedded etcd: an etcd that still serves a watch waits for it, up to its
// request timeout (7 s), before it stops, and a rolling restart pays for that on every replica.
func TestShutdownLeavesNoWatchOnTheEmbeddedEtcd(t *testing.T) {
	o := servertest.Standalone(t, t.TempDir(), io.Discard, io.Discard)
	if err := o.Complete(); err != nil {
		t.Fatal(err)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, stopEtcd, err := o.NewServer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer stopEtcd()
	exited := make(chan error, 1)
	go func() { exited <- srv.GenericAPIServer.PrepareRun().RunWithContext(ctx) }()

	client, err := kubernetes.NewForConfig(srv.GenericAPIServer.LoopbackClientConfig)
	if err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(body) == "ok", nil
	})
	if err != nil {
		t.Fatalf("the server never became ready: %v", err)
	}
	if n := openWatchStreams(t); n == 0 {
		t.Fatal("no watch stream is open on the embedded etcd of a running server: the metric measures nothing")
	}

	cancel()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("the server's run ended with %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the server did not shut down within a minute")
	}
	// A closed client ends its streams asynchronously; the etcd, not yet stopped, cannot
	// end them itself.
	var open float64
	err = wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, 5*time.Second, true, func(context.Context) (bool, error) {
		open = openWatchStreams(t)
		return open == 0, nil
	})
	if err != nil {
		t.Fatalf("%v watch streams are still open on the embedded etcd after the server shut down", open)
	}
}
