// Command etcdbackup saves a snapshot of a running etcd and restores one into a fresh data
// directory, with etcd's own snapshot code (go.etcd.io/etcd/etcdutl/v3). hack/backup.sh runs it
// for the local control plane's tenancy etcd. It is a module of its own, so that etcdutl and its
// dependencies stay out of the product's module.
//
//	etcdbackup save    --endpoint=URL --file=FILE
//	etcdbackup restore --file=FILE --data-dir=DIR --name=NAME --peer-url=URL [--revision-bump=N]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/etcdutl/v3/snapshot"
	"go.uber.org/zap"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "etcdbackup:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: etcdbackup save|restore [flags]")
	}
	zc := zap.NewProductionConfig()
	zc.Level = zap.NewAtomicLevelAt(zap.WarnLevel)
	lg, err := zc.Build()
	if err != nil {
		return err
	}
	defer func() { _ = lg.Sync() }()
	m := snapshot.NewV3(lg)
	fs := flag.NewFlagSet("etcdbackup "+args[0], flag.ContinueOnError)
	switch args[0] {
	case "save":
		endpoint := fs.String("endpoint", "", "Client URL of the etcd member to snapshot (required).")
		file := fs.String("file", "", "Snapshot file to write (required).")
		timeout := fs.Duration("timeout", 5*time.Minute, "Bound on the whole snapshot.")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *endpoint == "" || *file == "" {
			return errors.New("save: --endpoint and --file are required")
		}
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		defer cancel()
		version, err := m.Save(ctx, clientv3.Config{Endpoints: []string{*endpoint}, DialTimeout: 10 * time.Second}, *file)
		if err != nil {
			return fmt.Errorf("save: %w", err)
		}
		st, err := m.Status(*file)
		if err != nil {
			return fmt.Errorf("save: checking %s: %w", *file, err)
		}
		fmt.Printf("saved %s: etcd %s, revision %d, %d keys, %d bytes\n", *file, version, st.Revision, st.TotalKey, st.TotalSize)
		return nil
	case "restore":
		cfg := snapshot.RestoreConfig{InitialClusterToken: "etcd-cluster", MarkCompacted: true}
		var peerURL string
		fs.StringVar(&cfg.SnapshotPath, "file", "", "Snapshot file to restore (required).")
		fs.StringVar(&cfg.OutputDataDir, "data-dir", "", "New data directory; must not exist (required).")
		fs.StringVar(&cfg.Name, "name", "", "Member name, as the etcd that will open the directory runs it (required).")
		fs.StringVar(&peerURL, "peer-url", "", "Peer URL of that member (required).")
		fs.Uint64Var(&cfg.RevisionBump, "revision-bump", 1_000_000,
			"Raise the revision by this much and mark it compacted, so that no client sees revisions go back.")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if cfg.SnapshotPath == "" || cfg.OutputDataDir == "" || cfg.Name == "" || peerURL == "" {
			return errors.New("restore: --file, --data-dir, --name and --peer-url are required")
		}
		if cfg.RevisionBump == 0 {
			cfg.MarkCompacted = false
		}
		cfg.PeerURLs = []string{peerURL}
		cfg.InitialCluster = cfg.Name + "=" + peerURL
		if err := m.Restore(cfg); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		fmt.Printf("restored %s into %s\n", cfg.SnapshotPath, cfg.OutputDataDir)
		return nil
	default:
		return fmt.Errorf("unknown command %q: want save or restore", args[0])
	}
}
