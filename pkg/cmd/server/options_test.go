package server_test

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/cmd/server/servertest"
)

// A Config that fails after it started the embedded etcd stops that etcd before it returns:
// a failed start leaves nothing running, whether or not the caller calls stop.
func TestFailedConfigStopsTheEmbeddedEtcd(t *testing.T) {
	o := servertest.Standalone(t, t.TempDir(), io.Discard, io.Discard)
	o.EmbeddedEtcd.ClientPort = servertest.FreePort(t)
	// Read after the etcd has started: the last step of Config that can fail without a
	// kube-apiserver.
	o.WebhookClientCAFile, o.WebhookClientName = filepath.Join(t.TempDir(), "missing-ca.crt"), "kube-apiserver"

	cfg, stop, err := o.Config(context.Background())
	if err == nil {
		stop()
		t.Fatal("Config succeeded with a missing webhook client CA")
	}
	if cfg != nil {
		t.Errorf("Config returned a config with the error %v", err)
	}
	if stop == nil {
		t.Fatal("Config returned a nil stop function")
	}
	defer stop() // does nothing once Config has stopped the etcd itself
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(o.EmbeddedEtcd.ClientPort)))
	if err != nil {
		t.Fatalf("the embedded etcd still holds its client port after Config failed: %v", err)
	}
	_ = l.Close()
}
