// Command localetcd runs, as a process of its own, the etcd that tenancy-apiserver embeds: the
// same code (pkg/embeddedetcd) and etcd version, so it opens the data directory of an
// embedded etcd and the other way round. hack/local-up.sh runs it when several
// tenancy-apiserver replicas share one store (REPLICAS>1). It stops on SIGTERM or SIGINT.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/embeddedetcd"
)

func main() {
	var o embeddedetcd.Options
	fs := flag.NewFlagSet("localetcd", flag.ContinueOnError)
	fs.StringVar(&o.Dir, "data-dir", "", "Data directory (required); an embedded etcd's directory works.")
	fs.IntVar(&o.ClientPort, "client-port", 0, "Loopback port for clients (required).")
	fs.IntVar(&o.PeerPort, "peer-port", 0, "Loopback port of the peer listener (required).")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if o.Dir == "" || o.ClientPort <= 0 || o.PeerPort <= 0 {
		fmt.Fprintln(os.Stderr, "localetcd: --data-dir, --client-port and --peer-port are required")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	etcd, err := embeddedetcd.Start(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "localetcd:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "localetcd: serving %v from %s\n", etcd.Endpoints(), o.Dir)
	<-ctx.Done()
	etcd.Stop()
}
