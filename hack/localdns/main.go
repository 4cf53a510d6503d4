// Command localdns is the cluster DNS of the local node (hack/lib/node.sh): it answers the
// node's Pods for the cluster's own names, as a cluster's DNS does by the Kubernetes DNS
// specification, from the Services and EndpointSlices it watches:
//
//	<service>.<namespace>.svc.<domain>             the Service's ClusterIP; for a headless
//	                                               Service, its endpoints' addresses
//	<hostname>.<service>.<namespace>.svc.<domain>  the endpoint of that hostname (a
//	                                               StatefulSet's Pod behind its Service)
//
// IPv4 (A) records only. Every other name is NXDOMAIN: nothing resolves off this machine. It
// serves DNS over UDP on --listen (the node's bridge address), stopping on SIGTERM or SIGINT.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "localdns:", err)
		os.Exit(1)
	}
}

func run() error {
	listen := flag.String("listen", "", "the UDP address to answer on, e.g. 198.51.100.1:53 (required)")
	kubeconfig := flag.String("kubeconfig", "", "the kubeconfig to watch Services and EndpointSlices with (required)")
	domain := flag.String("domain", "cluster.local", "the cluster's DNS domain (the kubelet's clusterDomain)")
	flag.Parse()
	if *listen == "" || *kubeconfig == "" {
		return fmt.Errorf("--listen and --kubeconfig are required")
	}
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("--kubeconfig: %w", err)
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	factory := informers.NewSharedInformerFactory(client, 0)
	services := factory.Core().V1().Services()
	slices := factory.Discovery().V1().EndpointSlices()
	if err := slices.Informer().AddIndexers(cache.Indexers{byService: serviceOfSlice}); err != nil {
		return err
	}
	records := &records{domain: *domain, services: services.Lister(), slices: slices.Informer().GetIndexer()}
	factory.Start(ctx.Done())
	for typ, synced := range factory.WaitForCacheSync(ctx.Done()) {
		if !synced {
			return fmt.Errorf("the %v informer did not sync", typ)
		}
	}

	conn, err := net.ListenPacket("udp", *listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	go func() {
		<-ctx.Done()
		_ = conn.Close()
	}()
	klog.InfoS("Answering DNS queries", "listen", *listen, "domain", *domain)
	buf := make([]byte, 512)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		answer, err := records.answer(buf[:n])
		if err != nil {
			klog.V(2).InfoS("Dropped a query", "from", from, "err", err)
			continue
		}
		if _, err := conn.WriteTo(answer, from); err != nil {
			klog.ErrorS(err, "Answering a query", "to", from)
		}
	}
}
