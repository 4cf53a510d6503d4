package main

import (
	"context"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
)

const member = "tenancy-apiserver"

// startEtcd runs a single-member etcd on dir, as pkg/embeddedetcd does.
func startEtcd(t *testing.T, dir string, clientPort, peerPort int) *clientv3.Client {
	t.Helper()
	cfg := embed.NewConfig()
	cfg.Name, cfg.Dir, cfg.LogLevel = member, dir, "error"
	c := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(clientPort))}
	p := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(peerPort))}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{c}, []url.URL{c}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{p}, []url.URL{p}
	cfg.InitialCluster = cfg.InitialClusterFromName(member)
	cfg.ListenMetricsUrls = nil
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(time.Minute):
		t.Fatal("etcd not ready")
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{c.String()}, DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close(); e.Close() })
	return cli
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

// A snapshot restored into a fresh directory holds what was written before it and not after,
// and its revision is above the original's, compacted.
func TestSaveAndRestore(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	clientPort, peerPort := freePort(t), freePort(t)
	cli := startEtcd(t, filepath.Join(tmp, "etcd"), clientPort, peerPort)
	if _, err := cli.Put(ctx, "/registry/kiosk.sh/accounts/before", "1"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(tmp, "snap.db")
	if err := run([]string{"save", "--endpoint=http://127.0.0.1:" + strconv.Itoa(clientPort), "--file=" + file}); err != nil {
		t.Fatal(err)
	}
	after, err := cli.Put(ctx, "/registry/kiosk.sh/accounts/after", "1")
	if err != nil {
		t.Fatal(err)
	}

	restored := filepath.Join(tmp, "restored")
	if err := run([]string{"restore", "--file=" + file, "--data-dir=" + restored, "--name=" + member,
		"--peer-url=http://127.0.0.1:" + strconv.Itoa(peerPort), "--revision-bump=1000"}); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"restore", "--file=" + file, "--data-dir=" + restored, "--name=" + member,
		"--peer-url=http://127.0.0.1:1"}); err == nil {
		t.Error("a restore into an existing directory succeeded")
	}
	cli2 := startEtcd(t, restored, freePort(t), freePort(t))
	got, err := cli2.Get(ctx, "/registry/kiosk.sh/accounts/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Kvs) != 1 || string(got.Kvs[0].Key) != "/registry/kiosk.sh/accounts/before" {
		t.Errorf("restored keys = %v, want only .../before", got.Kvs)
	}
	if got.Header.Revision <= after.Header.Revision {
		t.Errorf("restored revision %d is not above %d, the last before the restore", got.Header.Revision, after.Header.Revision)
	}
	if _, err := cli2.Get(ctx, "/registry/kiosk.sh/accounts/before", clientv3.WithRev(after.Header.Revision)); err == nil {
		t.Error("reading at an old revision after the restore succeeded; want it compacted")
	}
}

func TestRunRejectsMissingFlags(t *testing.T) {
	for _, args := range [][]string{nil, {"save"}, {"restore", "--file=x"}, {"copy"}} {
		if err := run(args); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
