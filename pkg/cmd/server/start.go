package server

import (
	"context"
	"time"

	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apiserver"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/embeddedetcd"
)

// The steps of Config, in the order of genericoptions.RecommendedOptions.ApplyTo except that
// the kube client and its informers come first and the storage, with the admission chain that
// shares it, last: a restarted server lists kube-apiserver's objects while its etcd starts and
// its serving, authentication, authorization and priority and fairness are set up.

// kubeInformersResync is how often the informers of kube-apiserver's objects resync, as
// genericoptions.CoreAPIOptions sets it.
const kubeInformersResync = 10 * time.Minute

// startKubeInformers builds the client of kube-apiserver (--kubeconfig, or the in-cluster
// configuration) and starts, before anything else, the informers of the kube-apiserver
// objects the access index, the controllers and the webhooks read, trimmed. Handlers
// registered later (the access index's, the admission plugins', the controllers') are sent
// every object the informers already hold, then every change. Without a core API it does
// nothing.
func (o *Options) startKubeInformers(ctx context.Context, cfg *genericapiserver.RecommendedConfig) error {
	if err := o.Recommended.CoreAPI.ApplyTo(cfg); err != nil {
		return err
	}
	if cfg.ClientConfig == nil {
		return nil
	}
	// The informers share the server's limits, not client-go's default of 5 requests per
	// second, which holds back the lists and watches of a dozen informers starting at once.
	cfg.ClientConfig.QPS, cfg.ClientConfig.Burst = o.KubeAPIQPS, o.KubeAPIBurst
	client, err := kubernetes.NewForConfig(cfg.ClientConfig)
	if err != nil {
		return err
	}
	cfg.SharedInformerFactory = informers.NewSharedInformerFactory(client, kubeInformersResync)
	if err := apiserver.TrimInformers(cfg.SharedInformerFactory); err != nil {
		return err
	}
	startNewInformers(ctx, cfg)
	klog.InfoS("Started the informers of kube-apiserver's objects")
	return nil
}

// startNewInformers starts the informers asked of the factory since it was last started (the
// factory starts each informer once), so that they do not wait for the server to start.
func startNewInformers(ctx context.Context, cfg *genericapiserver.RecommendedConfig) {
	if cfg.SharedInformerFactory != nil {
		cfg.SharedInformerFactory.Start(ctx.Done())
	}
}

// kubeClients are the clients of kube-apiserver that priority and fairness and the admission
// plugins use, or nil without a core API.
func kubeClients(cfg *genericapiserver.RecommendedConfig) (kubernetes.Interface, dynamic.Interface, error) {
	if cfg.ClientConfig == nil {
		return nil, nil, nil
	}
	kube, err := kubernetes.NewForConfig(cfg.ClientConfig)
	if err != nil {
		return nil, nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg.ClientConfig)
	if err != nil {
		return nil, nil, err
	}
	return kube, dyn, nil
}

// applyWithoutStorage applies the options that need no etcd: serving, authentication,
// authorization, audit and the features (priority and fairness among them).
func (o *Options) applyWithoutStorage(cfg *genericapiserver.RecommendedConfig, kube kubernetes.Interface) error {
	r := o.Recommended
	if err := o.applySecureServing(&cfg.Config); err != nil {
		return err
	}
	if err := r.Authentication.ApplyTo(&cfg.Authentication, cfg.SecureServing, cfg.OpenAPIConfig); err != nil {
		return err
	}
	if err := r.Authorization.ApplyTo(&cfg.Authorization); err != nil {
		return err
	}
	if err := r.Audit.ApplyTo(&cfg.Config); err != nil {
		return err
	}
	return r.Features.ApplyTo(&cfg.Config, kube, cfg.SharedInformerFactory)
}

// applyStorage applies the etcd options, builds what the admission plugins share with the
// storages and then the admission chain. The etcd must be up.
func (o *Options) applyStorage(cfg *genericapiserver.RecommendedConfig, kube kubernetes.Interface, dyn dynamic.Interface) (*apiserver.Shared, error) {
	r := o.Recommended
	if err := r.Etcd.ApplyTo(&cfg.Config); err != nil {
		return nil, err
	}
	shared, err := apiserver.NewShared(cfg.RESTOptionsGetter, cfg.Authorization.Authorizer)
	if err != nil {
		return nil, err
	}
	if err := r.Admission.ApplyTo(&cfg.Config, cfg.SharedInformerFactory, kube, dyn, r.FeatureGate,
		cfg.EffectiveVersion, shared.AdmissionInitializers()...); err != nil {
		return nil, err
	}
	return shared, nil
}

// startingEtcd is the embedded etcd while it starts in the background.
type startingEtcd struct {
	done   chan struct{}
	server *embeddedetcd.Server
	err    error
}

// startEmbeddedEtcd starts the embedded etcd in the background; without one (--etcd-servers),
// wait returns nil at once.
func startEmbeddedEtcd(ctx context.Context, embedded bool, o EmbeddedEtcdOptions) *startingEtcd {
	s := &startingEtcd{done: make(chan struct{})}
	if !embedded {
		close(s.done)
		return s
	}
	go func() {
		defer close(s.done)
		s.server, s.err = embeddedetcd.Start(ctx, embeddedetcd.Options{Dir: o.Dir, ClientPort: o.ClientPort, PeerPort: o.PeerPort})
	}()
	return s
}

// wait waits until the etcd serves, or failed to start.
func (s *startingEtcd) wait() (*embeddedetcd.Server, error) {
	<-s.done
	return s.server, s.err
}

// stop waits for the etcd to have started, then stops it.
func (s *startingEtcd) stop() {
	if server, err := s.wait(); err == nil && server != nil {
		server.Stop()
	}
}
