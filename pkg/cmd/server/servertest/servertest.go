// Package servertest sets up the server's options for tests that run it in-process, on an
// embedded etcd and with no kube-apiserver to delegate to.
package servertest

import (
	"io"
	"net"
	"testing"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/cmd/server"
)

// Standalone returns options for a server on an embedded etcd in etcdDir, serving on a free
// loopback port with a self-signed certificate, without delegated authentication and
// authorization, a core API, admission or priority and fairness. Logs go to out and errOut.
func Standalone(t testing.TB, etcdDir string, out, errOut io.Writer) *server.Options {
	t.Helper()
	o := server.NewOptions(out, errOut)
	o.EmbeddedEtcd.Dir = etcdDir
	o.Recommended.SecureServing.BindAddress = net.ParseIP("127.0.0.1")
	o.Recommended.SecureServing.BindPort = FreePort(t)
	o.Recommended.SecureServing.ServerCert.CertDirectory = t.TempDir()
	o.Recommended.Authentication.RemoteKubeConfigFileOptional = true
	o.Recommended.Authorization.RemoteKubeConfigFileOptional = true
	o.Recommended.CoreAPI = nil
	o.Recommended.Admission = nil
	o.Recommended.Features.EnablePriorityAndFairness = false
	return o
}

// FreePort returns a TCP port on the loopback interface that nothing listens on.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}
