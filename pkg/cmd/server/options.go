// Package server holds the flags and options of tenancy-apiserver and runs it.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/healthz"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	cliflag "k8s.io/component-base/cli/flag"
	basecompatibility "k8s.io/component-base/compatibility"
	componentbaseconfig "k8s.io/component-base/config"
	componentbaseconfigoptions "k8s.io/component-base/config/options"
	"k8s.io/component-base/logs"
	logsapi "k8s.io/component-base/logs/api/v1"
	baseversion "k8s.io/component-base/version"
	"k8s.io/klog/v2"
	netutils "k8s.io/utils/net"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/admission/mandatory"
	spaceadmission "github.com/tenancy-apiserver/tenancy-apiserver/pkg/admission/space"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/admission/templateuse"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/admission/webhook"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apiserver"
	generatedopenapi "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/openapi"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/hub"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/scheme"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/template/helm"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/version"
)

// etcdPathPrefix is where this server keeps its objects in etcd.
const etcdPathPrefix = "/registry/kiosk.sh"

func init() {
	utilruntime.Must(logsapi.AddFeatureGates(utilfeature.DefaultMutableFeatureGate))
}

// Options are everything tenancy-apiserver can be told on its command line.
type Options struct {
	Recommended  *genericoptions.RecommendedOptions
	Logs         *logs.Options
	EmbeddedEtcd EmbeddedEtcdOptions

	// LeaderElection says how replicas elect the one that runs the controllers.
	LeaderElection componentbaseconfig.LeaderElectionConfiguration
	// ControllerWorkers is how many objects each controller reconciles at once.
	ControllerWorkers int
	// WebhookClientCAFile and WebhookClientName, when set, are the CA and the name of the only
	// client certificate the webhooks (AccountQuota, Pod isolation) answer.
	WebhookClientCAFile, WebhookClientName string
	// SleepAuditSink serves kube-apiserver's audit events, so that reads count as activity
	// for sleep mode.
	SleepAuditSink bool
	// KubeAPIQPS and KubeAPIBurst limit this server's own requests to kube-apiserver.
	KubeAPIQPS   float32
	KubeAPIBurst int

	// Helm says how the Helm charts of Templates are downloaded and cached.
	Helm HelmOptions
	// ShutdownWatchTerminationGracePeriod bounds how long a stopping server lets its open
	// watches drain; it closes them when it starts to shut down.
	ShutdownWatchTerminationGracePeriod time.Duration

	// HubCache bounds the views of member clusters the hub keeps per caller.
	HubCache hub.CacheOptions

	// PrintVersion prints the version and exits.
	PrintVersion bool

	Stdout, Stderr io.Writer
}

// EmbeddedEtcdOptions configure the etcd run inside the process when --etcd-servers is not given.
type EmbeddedEtcdOptions struct {
	Dir        string
	ClientPort int
	PeerPort   int
}

// HelmOptions configure the rendering of Templates' Helm charts.
type HelmOptions struct {
	// ChartCacheSize bounds the chart archives kept in memory, as a quantity such as 64Mi.
	ChartCacheSize string
	// DownloadTimeout bounds each download from a chart repository or registry.
	DownloadTimeout time.Duration
}

// NewOptions returns the default options.
func NewOptions(stdout, stderr io.Writer) *Options {
	o := &Options{
		Recommended: genericoptions.NewRecommendedOptions(etcdPathPrefix,
			scheme.Codecs.LegacyCodec(configv1alpha1.SchemeGroupVersion)),
		Logs: logs.NewOptions(),
		LeaderElection: componentbaseconfig.LeaderElectionConfiguration{
			LeaderElect:       true,
			LeaseDuration:     metav1.Duration{Duration: 15 * time.Second},
			RenewDeadline:     metav1.Duration{Duration: 10 * time.Second},
			RetryPeriod:       metav1.Duration{Duration: 2 * time.Second},
			ResourceLock:      resourcelock.LeasesResourceLock,
			ResourceName:      "tenancy-apiserver",
			ResourceNamespace: "tenancy-system",
		},
		ControllerWorkers: 4,
		// Open watches (kube-controller-manager's, reflectors through the aggregator) would
		// otherwise hold a stopping server for its whole shutdown timeout.
		ShutdownWatchTerminationGracePeriod: 5 * time.Second,
		KubeAPIQPS:                          100,
		KubeAPIBurst:                        200,
		EmbeddedEtcd:                        EmbeddedEtcdOptions{Dir: "tenancy-apiserver.etcd"},
		Helm:                                HelmOptions{ChartCacheSize: "64Mi", DownloadTimeout: time.Minute},
		HubCache:                            hub.DefaultCacheOptions,
		Stdout:                              stdout,
		Stderr:                              stderr,
	}
	o.Recommended.Etcd.StorageConfig.EncodeVersioner = runtime.NewMultiGroupVersioner(
		configv1alpha1.SchemeGroupVersion, schema.GroupKind{Group: configv1alpha1.GroupName})
	// The server's own admission plugins run after the generic ones.
	plugins := o.Recommended.Admission.Plugins
	spaceadmission.RegisterAccount(plugins)
	spaceadmission.RegisterLimit(plugins)
	spaceadmission.RegisterSubjects(plugins)
	templateuse.Register(plugins)
	mandatory.Register(plugins)
	o.Recommended.Admission.RecommendedPluginOrder = append(o.Recommended.Admission.RecommendedPluginOrder,
		spaceadmission.AccountPluginName, spaceadmission.LimitPluginName, spaceadmission.SubjectsPluginName, templateuse.PluginName, mandatory.PluginName)
	o.Recommended.SecureServing.BindPort = 8443
	// Every watch proxied to this server by kube-apiserver's aggregator is a stream of one
	// HTTP/2 connection: with the generic server's default of 100 streams, hundreds of open
	// Space watches (k9s, Lens, ArgoCD, one per user) would not fit. kube-apiserver allows 1,000.
	o.Recommended.SecureServing.HTTP2MaxStreamsPerConnection = 1000
	return o
}

// Flags returns the flags in named sections, as --help prints them.
func (o *Options) Flags() cliflag.NamedFlagSets {
	var fss cliflag.NamedFlagSets
	r := o.Recommended
	r.SecureServing.AddFlags(fss.FlagSet("secure serving"))
	r.Authentication.AddFlags(fss.FlagSet("authentication"))
	r.Authorization.AddFlags(fss.FlagSet("authorization"))
	r.Etcd.AddFlags(fss.FlagSet("etcd"))

	efs := fss.FlagSet("embedded etcd")
	efs.StringVar(&o.EmbeddedEtcd.Dir, "embedded-etcd-dir", o.EmbeddedEtcd.Dir,
		"Directory of the etcd run inside this process when --etcd-servers is not given. Data there survives restarts.")
	efs.IntVar(&o.EmbeddedEtcd.ClientPort, "embedded-etcd-client-port", o.EmbeddedEtcd.ClientPort,
		"Loopback port of the embedded etcd's client listener; 0 picks a free port.")
	efs.IntVar(&o.EmbeddedEtcd.PeerPort, "embedded-etcd-peer-port", o.EmbeddedEtcd.PeerPort,
		"Loopback port of the embedded etcd's peer listener; 0 picks a free port.")

	r.CoreAPI.AddFlags(fss.FlagSet("kubernetes api"))
	cfs := fss.FlagSet("controllers")
	componentbaseconfigoptions.BindLeaderElectionFlags(&o.LeaderElection, cfs)
	cfs.IntVar(&o.ControllerWorkers, "controller-workers", o.ControllerWorkers, "How many objects each controller reconciles at once.")
	cfs.Float32Var(&o.KubeAPIQPS, "kube-api-qps", o.KubeAPIQPS, "Requests per second this server may send to kube-apiserver (SubjectAccessReviews, Space writes, controllers); its informers have a limit of their own with the same figures.")
	cfs.IntVar(&o.KubeAPIBurst, "kube-api-burst", o.KubeAPIBurst, "Requests this server may send to kube-apiserver in a burst above --kube-api-qps.")
	wfs := fss.FlagSet("accountquota webhook")
	wfs.StringVar(&o.WebhookClientCAFile, "accountquota-webhook-client-ca-file", "",
		"CA bundle that verifies the client certificate kube-apiserver presents to the AccountQuota and Pod isolation webhooks "+
			"(its admission configuration's kubeconfig). With --accountquota-webhook-client-name, every other caller is refused. "+
			"Without them the webhooks answer anyone who reaches the port, as kube-apiserver calls webhooks without credentials by default.")
	wfs.StringVar(&o.WebhookClientName, "accountquota-webhook-client-name", "",
		"CommonName of the only client certificate the AccountQuota and Pod isolation webhooks answer; needs --accountquota-webhook-client-ca-file.")
	sfs := fss.FlagSet("sleep mode")
	sfs.BoolVar(&o.SleepAuditSink, "sleep-audit-sink", false,
		"Serve an audit webhook backend at /audit/activity that counts every request in a Space, reads included, as activity for sleep mode. "+
			"kube-apiserver must be configured to send its audit events there (--audit-webhook-config-file), which managed clusters such as EKS do not allow. "+
			"The webhook client certificate flags apply to it too.")
	hfs := fss.FlagSet("helm charts")
	hfs.StringVar(&o.Helm.ChartCacheSize, "helm-chart-cache-size", o.Helm.ChartCacheSize,
		"Memory for the Helm chart archives of Templates, kept by repository, chart, version and credentials; the least recently used go first. 0 keeps none, so every render downloads its chart.")
	hfs.DurationVar(&o.Helm.DownloadTimeout, "helm-download-timeout", o.Helm.DownloadTimeout,
		"How long one download from a chart repository or OCI registry may take before the TemplateInstance fails with ChartDownloadFailed and is retried.")
	mfs := fss.FlagSet("multi-cluster hub")
	mfs.DurationVar(&o.HubCache.IdleTimeout, "hub-cache-idle-timeout", o.HubCache.IdleTimeout,
		"How long the hub keeps a caller's views of the member clusters (a watch of each member as the caller) after the caller's last list of Spaces.")
	mfs.IntVar(&o.HubCache.MaxCallers, "hub-cache-max-callers", o.HubCache.MaxCallers,
		"How many callers the hub keeps views of the member clusters for; the least recently used makes room for a new one. 0 keeps none: every list of Spaces asks every member.")
	r.Admission.AddFlags(fss.FlagSet("admission"))
	r.Audit.AddFlags(fss.FlagSet("audit"))
	r.Features.AddFlags(fss.FlagSet("features"))
	r.EgressSelector.AddFlags(fss.FlagSet("egress selector"))
	r.Traces.AddFlags(fss.FlagSet("traces"))
	utilfeature.DefaultMutableFeatureGate.AddFlag(fss.FlagSet("features"))
	logsapi.AddFlags(o.Logs, fss.FlagSet("logs"))

	fss.FlagSet("misc").DurationVar(&o.ShutdownWatchTerminationGracePeriod, "shutdown-watch-termination-grace-period",
		o.ShutdownWatchTerminationGracePeriod, "How long a stopping server waits for the watches it closes to drain; 0 leaves them open until the shutdown timeout.")
	fss.FlagSet("misc").BoolVar(&o.PrintVersion, "version", false, "Print the version and exit.")
	return fss
}

// embedded reports whether the server runs its own etcd.
func (o *Options) embedded() bool {
	return len(o.Recommended.Etcd.StorageConfig.Transport.ServerList) == 0
}

func (h HelmOptions) cacheSize() (int64, error) {
	q, err := resource.ParseQuantity(h.ChartCacheSize)
	if err != nil || q.Sign() < 0 {
		return 0, fmt.Errorf("--helm-chart-cache-size must be a size such as 64Mi, not %q", h.ChartCacheSize)
	}
	return q.Value(), nil
}

// Complete fills in what the flags leave open.
func (o *Options) Complete() error {
	return nil
}

// Validate checks the options and reports every problem at once.
func (o *Options) Validate() error {
	r := o.Recommended
	var errs []error
	if o.embedded() {
		if o.EmbeddedEtcd.Dir == "" {
			errs = append(errs, errors.New("--embedded-etcd-dir is required when --etcd-servers is not given"))
		}
	} else {
		errs = append(errs, r.Etcd.Validate()...)
	}
	errs = append(errs, r.SecureServing.Validate()...)
	errs = append(errs, r.Authentication.Validate()...)
	errs = append(errs, r.Authorization.Validate()...)
	errs = append(errs, r.Audit.Validate()...)
	errs = append(errs, r.Features.Validate()...)
	errs = append(errs, r.CoreAPI.Validate()...)
	errs = append(errs, r.Admission.Validate()...)
	errs = append(errs, r.EgressSelector.Validate()...)
	errs = append(errs, r.Traces.Validate()...)
	if o.KubeAPIQPS <= 0 || o.KubeAPIBurst < 1 {
		errs = append(errs, fmt.Errorf("--kube-api-qps must be positive and --kube-api-burst at least 1"))
	}
	if (o.WebhookClientCAFile == "") != (o.WebhookClientName == "") {
		errs = append(errs, fmt.Errorf("--accountquota-webhook-client-ca-file and --accountquota-webhook-client-name go together"))
	}
	if o.ControllerWorkers < 1 {
		errs = append(errs, fmt.Errorf("--controller-workers must be at least 1, not %d", o.ControllerWorkers))
	}
	if _, err := o.Helm.cacheSize(); err != nil {
		errs = append(errs, err)
	}
	if o.Helm.DownloadTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--helm-download-timeout must be positive, not %s", o.Helm.DownloadTimeout))
	}
	if o.ShutdownWatchTerminationGracePeriod < 0 {
		errs = append(errs, fmt.Errorf("--shutdown-watch-termination-grace-period must not be negative, not %s", o.ShutdownWatchTerminationGracePeriod))
	}
	if o.HubCache.IdleTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--hub-cache-idle-timeout must be positive, not %s", o.HubCache.IdleTimeout))
	}
	if o.HubCache.MaxCallers < 0 {
		errs = append(errs, fmt.Errorf("--hub-cache-max-callers must not be negative, not %d", o.HubCache.MaxCallers))
	}
	for _, p := range []int{o.EmbeddedEtcd.ClientPort, o.EmbeddedEtcd.PeerPort} {
		if p < 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("embedded etcd port %d is not between 0 and 65535", p))
		}
	}
	return utilerrors.NewAggregate(errs)
}

// Config builds the server configuration. It starts, in this order and without waiting for
// one another, the informers of kube-apiserver's objects (they need only the kube client) and,
// when the server runs its own etcd, that etcd; then it applies every option that needs
// neither, and waits for the etcd only for the storage and the admission chain. The returned
// stop function stops the informers and the etcd and must be called once the server has
// stopped.
func (o *Options) Config(ctx context.Context) (_ *apiserver.Config, stop func(), err error) {
	stop = func() {}
	defer undoOnError(&stop, &err)
	r := o.Recommended
	cfg := genericapiserver.NewRecommendedConfig(scheme.Codecs)
	cfg.FeatureGate = utilfeature.DefaultFeatureGate
	cfg.EffectiveVersion = basecompatibility.NewEffectiveVersionFromString(baseversion.DefaultKubeBinaryVersion, "", "")

	// The trace provider wraps the kube client, so it comes first; both are cheap.
	if err := r.EgressSelector.ApplyTo(&cfg.Config); err != nil {
		return nil, stop, err
	}
	if err := r.Traces.ApplyTo(cfg.Config.EgressSelector, &cfg.Config); err != nil {
		return nil, stop, err
	}
	informersCtx, stopInformers := context.WithCancel(ctx)
	stop = stopInformers
	if err := o.startKubeInformers(informersCtx, cfg); err != nil {
		return nil, stop, err
	}
	embedded := o.embedded()
	etcd := startEmbeddedEtcd(ctx, embedded, o.EmbeddedEtcd)
	stop = func() {
		etcd.stop()
		stopInformers()
	}

	if err := r.SecureServing.MaybeDefaultWithSelfSignedCerts("localhost", nil, []net.IP{netutils.ParseIPSloppy("127.0.0.1")}); err != nil {
		return nil, stop, fmt.Errorf("creating self-signed certificates: %w", err)
	}
	namer := openapi.NewDefinitionNamer(scheme.Scheme)
	cfg.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(generatedopenapi.GetOpenAPIDefinitions, namer)
	cfg.OpenAPIConfig.Info.Title = "tenancy-apiserver"
	cfg.OpenAPIConfig.Info.Version = version.Get().GitVersion
	cfg.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(generatedopenapi.GetOpenAPIDefinitions, namer)
	cfg.OpenAPIV3Config.Info.Title = "tenancy-apiserver"
	cfg.OpenAPIV3Config.Info.Version = version.Get().GitVersion
	cfg.ShutdownWatchTerminationGracePeriod = o.ShutdownWatchTerminationGracePeriod
	kube, dyn, err := kubeClients(cfg)
	if err != nil {
		return nil, stop, err
	}
	if err := o.applyWithoutStorage(cfg, kube); err != nil {
		return nil, stop, err
	}
	startNewInformers(informersCtx, cfg) // priority and fairness's

	var localEtcd func() *clientv3.Client
	if embedded {
		server, err := etcd.wait()
		if err != nil {
			return nil, stop, err
		}
		r.Etcd.StorageConfig.Transport.ServerList = server.Endpoints()
		localEtcd = server.Client
	}
	shared, err := o.applyStorage(cfg, kube, dyn)
	if err != nil {
		return nil, stop, err
	}
	startNewInformers(informersCtx, cfg) // the admission plugins'
	cfg.LivezChecks = withoutLivezEtcd(cfg.LivezChecks)
	cacheSize, err := o.Helm.cacheSize()
	if err != nil {
		return nil, stop, err
	}
	extra := apiserver.ExtraConfig{
		LeaderElection:    o.LeaderElection,
		ControllerWorkers: o.ControllerWorkers,
		Shared:            shared,
		LocalEtcd:         localEtcd,
		Charts:            helm.NewRenderer(helm.Options{CacheSize: cacheSize, Timeout: o.Helm.DownloadTimeout}),
		SleepAuditSink:    o.SleepAuditSink,
		HubCache:          o.HubCache,
	}
	if o.WebhookClientCAFile != "" {
		caller, err := webhook.LoadCaller(o.WebhookClientCAFile, o.WebhookClientName)
		if err != nil {
			return nil, stop, err
		}
		extra.WebhookCaller = caller
	}
	if cfg.ClientConfig != nil {
		extra.KubeClient, extra.KubeDynamic, extra.KubeInformers = kube, dyn, cfg.SharedInformerFactory
	}
	return &apiserver.Config{GenericConfig: cfg, ExtraConfig: extra}, stop, nil
}

// NewServer builds the server, starting the embedded etcd when there is one. The returned
// stop function stops that etcd and must be called after the server has shut down.
func (o *Options) NewServer(ctx context.Context) (_ *apiserver.Server, stop func(), err error) {
	cfg, stop, err := o.Config(ctx)
	if err != nil {
		return nil, stop, err
	}
	defer undoOnError(&stop, &err)
	server, err := cfg.Complete().New()
	if err != nil {
		return nil, stop, err
	}
	return server, stop, nil
}

// undoOnError, deferred by a function that may have started the embedded etcd, stops it
// when the function fails, and leaves the caller a stop function that does nothing.
func undoOnError(stop *func(), err *error) {
	if *err != nil {
		(*stop)()
		*stop = func() {}
	}
}

// Run starts the server and blocks until ctx is cancelled and the server has shut down.
func (o *Options) Run(ctx context.Context) error {
	embedded := o.embedded()
	server, stop, err := o.NewServer(ctx)
	if err != nil {
		return err
	}
	defer stop()
	klog.InfoS("Starting tenancy-apiserver", "version", version.Get().GitVersion, "embeddedEtcd", embedded)
	server.StartKubeInformers(ctx)
	return server.GenericAPIServer.PrepareRun().RunWithContext(ctx)
}

// withoutLivezEtcd leaves etcd out of /livez (it stays in /healthz and /readyz): the per-user
// views are served from memory while etcd has no quorum, and a liveness probe that restarted
// the server then would only throw them away and make it rebuild them from a storage that
// cannot answer.
func withoutLivezEtcd(checks []healthz.HealthChecker) []healthz.HealthChecker {
	kept := checks[:0:0]
	for _, c := range checks {
		if c.Name() != "etcd" {
			kept = append(kept, c)
		}
	}
	return kept
}
