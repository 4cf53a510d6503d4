// Package embeddedetcd runs a single-member etcd inside the tenancy-apiserver process, for
// trials and small clusters. Data lives in a directory and survives restarts.
package embeddedetcd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap/zapcore"
	"k8s.io/klog/v2"
)

// Options configure the embedded etcd.
type Options struct {
	// Dir holds the etcd data.
	Dir string
	// ClientPort is the loopback port clients use; 0 picks a free one.
	ClientPort int
	// PeerPort is the loopback port of the (unused) peer listener; 0 picks a free one.
	PeerPort int
	// StartTimeout bounds how long Start waits for etcd to be ready.
	StartTimeout time.Duration
}

// Server is a running embedded etcd.
type Server struct {
	etcd      *embed.Etcd
	endpoints []string
}

// Start starts etcd and waits until it serves clients.
func Start(ctx context.Context, o Options) (*Server, error) {
	if o.Dir == "" {
		return nil, errors.New("embedded etcd: a data directory is required")
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedded etcd: creating %s: %w", o.Dir, err)
	}
	clientPort, peerPort, err := pickPorts(o.ClientPort, o.PeerPort)
	if err != nil {
		return nil, err
	}
	cfg := embed.NewConfig()
	cfg.Name = "tenancy-apiserver"
	cfg.Dir = o.Dir
	clientURL := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(clientPort))}
	peerURL := url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(peerPort))}
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogLevel = zapcore.WarnLevel.String()
	// A single member has no peer to hear from: its ticks only time its own first election,
	// which a restart waits for (between one and ten ticks). Ticks of 10 ms instead of 100 ms
	// elect it within 100 ms instead of a second.
	cfg.TickMs, cfg.ElectionMs = 10, 100
	cfg.ListenMetricsUrls = nil
	// Bound the on-disk size and keep history short: the API server only needs recent revisions.
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = "1h"
	cfg.QuotaBackendBytes = 2 << 30

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("embedded etcd: starting in %s: %w", o.Dir, err)
	}
	timeout := o.StartTimeout
	if timeout == 0 {
		timeout = time.Minute
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd: %w", err)
	case <-time.After(timeout):
		e.Close()
		return nil, fmt.Errorf("embedded etcd: not ready after %s", timeout)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	klog.InfoS("Embedded etcd is ready", "dir", o.Dir, "endpoint", clientURL.String())
	return &Server{etcd: e, endpoints: []string{clientURL.String()}}, nil
}

// Endpoints are the client URLs of the embedded etcd.
func (s *Server) Endpoints() []string { return s.endpoints }

// Client returns a client that calls this etcd inside the process, with neither the
// network nor gRPC on the way.
func (s *Server) Client() *clientv3.Client { return v3client.New(s.etcd.Server) }

// Stop stops etcd, flushing its data to disk.
func (s *Server) Stop() {
	s.etcd.Close()
	klog.InfoS("Embedded etcd stopped")
}

func pickPorts(client, peer int) (int, int, error) {
	var err error
	if client == 0 {
		if client, err = freePort(); err != nil {
			return 0, 0, err
		}
	}
	if peer == 0 {
		for peer == 0 || peer == client {
			if peer, err = freePort(); err != nil {
				return 0, 0, err
			}
		}
	}
	return client, peer, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("embedded etcd: finding a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}
