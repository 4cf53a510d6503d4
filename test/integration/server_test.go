package integration

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/cmd/server"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
)

// testServer is a whole tenancy-apiserver running in this process on an embedded etcd.
type testServer struct {
	Config *rest.Config
	Client versioned.Interface
	stop   func()
}

// startServer runs the server on the embedded etcd in etcdDir until the test ends or Stop is
// called. Without a kube-apiserver to delegate to, it is reached through its loopback
// credentials, which belong to system:masters.
func startServer(t *testing.T, etcdDir string) *testServer {
	t.Helper()
	o := server.NewOptions(nil, nil)
	o.EmbeddedEtcd.Dir = etcdDir
	o.Recommended.SecureServing.BindAddress = net.ParseIP("127.0.0.1")
	o.Recommended.SecureServing.BindPort = freePort(t)
	o.Recommended.SecureServing.ServerCert.CertDirectory = t.TempDir()
	o.Recommended.Authentication.RemoteKubeConfigFileOptional = true
	o.Recommended.Authorization.RemoteKubeConfigFileOptional = true
	o.Recommended.CoreAPI = nil
	o.Recommended.Admission = nil
	o.Recommended.Features.EnablePriorityAndFairness = false
	require.NoError(t, o.Complete())
	require.NoError(t, o.Validate())

	ctx, cancel := context.WithCancel(context.Background())
	srv, stopEtcd, err := o.NewServer(ctx)
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.GenericAPIServer.PrepareRun().RunWithContext(ctx) }()

	ts := &testServer{Config: rest.CopyConfig(srv.GenericAPIServer.LoopbackClientConfig)}
	stopped := false
	ts.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(time.Minute):
			t.Error("server did not shut down within a minute")
		}
		stopEtcd()
	}
	t.Cleanup(ts.stop)

	ts.Client, err = versioned.NewForConfig(ts.Config)
	require.NoError(t, err)
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		body, err := ts.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(body) == "ok", nil
	})
	require.NoError(t, err, "server never became ready")
	return ts
}

// Stop shuts the server and its etcd down.
func (s *testServer) Stop() { s.stop() }

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}
