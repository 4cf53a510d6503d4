package integration

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/cmd/server"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/cmd/server/servertest"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
)

// testServer is a whole tenancy-apiserver running in this process.
type testServer struct {
	Config *rest.Config
	Client versioned.Interface
	stop   func() error
}

// startServer runs the server on the embedded etcd in etcdDir until the test ends or Stop is
// called. Without a kube-apiserver to delegate to, it is reached through its loopback
// credentials, which belong to system:masters.
func startServer(t *testing.T, etcdDir string) *testServer {
	t.Helper()
	o := servertest.Standalone(t, etcdDir, nil, nil)
	ts, err := runServer(o)
	require.NoError(t, err)
	// Stop may come before the cleanup; the cleanup reports how the server stopped.
	var once sync.Once
	var stopErr error
	stop := ts.stop
	ts.stop = func() error {
		once.Do(func() { stopErr = stop() })
		return stopErr
	}
	t.Cleanup(func() { require.NoError(t, ts.stop()) })
	return ts
}

// runServer completes, validates and runs the server of o, and waits until it is ready. The
// server runs until its stop function is called; on an error nothing is left running.
func runServer(o *server.Options) (*testServer, error) {
	if err := o.Complete(); err != nil {
		return nil, err
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv, stopEtcd, err := o.NewServer(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	var runErr error
	exited := make(chan struct{})
	go func() {
		runErr = srv.GenericAPIServer.PrepareRun().RunWithContext(ctx)
		close(exited)
	}()

	ts := &testServer{Config: rest.CopyConfig(srv.GenericAPIServer.LoopbackClientConfig)}
	ts.stop = func() error {
		cancel()
		var err error
		select {
		case <-exited:
			err = runErr
		case <-time.After(time.Minute):
			err = errors.New("server did not shut down within a minute")
		}
		stopEtcd()
		return err
	}
	if ts.Client, err = versioned.NewForConfig(ts.Config); err != nil {
		return nil, errors.Join(err, ts.stop())
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		select {
		case <-exited:
			return false, fmt.Errorf("server stopped while starting: %w", runErr)
		default:
		}
		body, err := ts.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(body) == "ok", nil
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("server never became ready: %w", err), ts.stop())
	}
	return ts, nil
}

// Stop shuts the server and its etcd down.
func (s *testServer) Stop() { _ = s.stop() }

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
