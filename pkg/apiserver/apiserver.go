// Package apiserver assembles tenancy-apiserver: it installs the config.kiosk.sh and
// tenancy.kiosk.sh API groups on a generic API server.
package apiserver

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	componentbaseconfig "k8s.io/component-base/config"
	"k8s.io/klog/v2"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/accounts"
	accountquotaadmission "github.com/tenancy-apiserver/tenancy-apiserver/pkg/admission/accountquota"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/admission/activity"
	podadmission "github.com/tenancy-apiserver/tenancy-apiserver/pkg/admission/pod"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/admission/webhook"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/controller"
	accountcontroller "github.com/tenancy-apiserver/tenancy-apiserver/pkg/controller/account"
	accountquotacontroller "github.com/tenancy-apiserver/tenancy-apiserver/pkg/controller/accountquota"
	clustercontroller "github.com/tenancy-apiserver/tenancy-apiserver/pkg/controller/cluster"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/controller/hubaccount"
	sleepcontroller "github.com/tenancy-apiserver/tenancy-apiserver/pkg/controller/sleep"
	templateinstancecontroller "github.com/tenancy-apiserver/tenancy-apiserver/pkg/controller/templateinstance"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
	configinformers "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/informers/externalversions"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/hub"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/quota"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/config/accountquota"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/config/cluster"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/config/template"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/config/templateinstance"
	tenancyregistry "github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy"
	tenancyaccount "github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy/account"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy/space"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/scheme"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/sleep"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/template/helm"
)

// ExtraConfig holds what tenancy-apiserver needs besides the generic server config.
type ExtraConfig struct {
	// KubeClient reaches the kube-apiserver this server extends. Without it only the
	// config.kiosk.sh API is served, which is enough to test that API alone.
	KubeClient kubernetes.Interface
	// KubeDynamic applies the objects of Templates.
	KubeDynamic dynamic.Interface
	// KubeInformers share the watches on kube-apiserver's objects.
	KubeInformers informers.SharedInformerFactory
	// LeaderElection says how replicas elect the one that runs the controllers.
	LeaderElection componentbaseconfig.LeaderElectionConfiguration
	// ControllerWorkers is how many objects each controller reconciles at once.
	ControllerWorkers int
	// Shared holds the Account storage, access index and reservation ledger that the
	// admission plugins were given when the chain was built; nil builds them in New, and
	// then no Space plugin runs, so Space creates are refused.
	Shared *Shared
	// WebhookCaller, when set, is the only client the webhooks (AccountQuota, Pod
	// isolation) answer.
	WebhookCaller *webhook.Caller
	// Charts renders the Helm charts of Templates; nil renders none.
	Charts *helm.Renderer
	// SleepAuditSink serves the audit sink of sleep mode, through which reads count as
	// activity.
	SleepAuditSink bool
	// LocalEtcd, when the server runs its own etcd, makes clients that call it inside the
	// process. The AccountQuota webhook charges through one.
	LocalEtcd func() *clientv3.Client
	// HubCache bounds the hub's views of its members per caller; its zero value keeps none.
	HubCache hub.CacheOptions
}

// Config is the configuration of tenancy-apiserver.
type Config struct {
	GenericConfig *genericapiserver.RecommendedConfig
	ExtraConfig   ExtraConfig
}

type completedConfig struct {
	GenericConfig genericapiserver.CompletedConfig
	ExtraConfig   *ExtraConfig
}

// CompletedConfig is a Config on which Complete was called. It can only be made by Complete.
type CompletedConfig struct {
	*completedConfig
}

// Server is a running tenancy-apiserver.
type Server struct {
	GenericAPIServer *genericapiserver.GenericAPIServer
	kubeInformers    informers.SharedInformerFactory
}

// StartKubeInformers starts the informers of kube-apiserver's objects that New asked for
// and that were not started yet (a factory starts each informer once), so that they run
// while the server prepares to serve (its OpenAPI spec, its listeners); the post-start hooks
// start them anyway.
func (s *Server) StartKubeInformers(ctx context.Context) {
	if s.kubeInformers != nil {
		s.kubeInformers.Start(ctx.Done())
	}
}

// Complete fills in defaults. It mutates the receiver.
func (cfg *Config) Complete() CompletedConfig {
	return CompletedConfig{&completedConfig{cfg.GenericConfig.Complete(), &cfg.ExtraConfig}}
}

// New builds the server from a completed config.
func (c completedConfig) New() (*Server, error) {
	endpoint := &webhook.Endpoint{Caller: c.ExtraConfig.WebhookCaller}
	quotaHook := endpoint.Register(accountquotaadmission.Path, "AccountQuota")
	podHook := endpoint.Register(podadmission.Path, "Pod isolation")
	activityHook := endpoint.Register(activity.Path, "sleep mode activity")
	var auditHook *webhook.Hook
	if c.ExtraConfig.SleepAuditSink {
		auditHook = endpoint.Register(activity.AuditPath, "sleep mode audit")
	}
	chain := c.GenericConfig.BuildHandlerChainFunc
	c.GenericConfig.BuildHandlerChainFunc = func(h http.Handler, cfg *genericapiserver.Config) http.Handler {
		return endpoint.Wrap(hub.WithClusterParameter(chain(h, cfg), NegotiatedSerializer))
	}
	generic, err := c.GenericConfig.New("tenancy-apiserver", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, err
	}
	s := &Server{GenericAPIServer: generic, kubeInformers: c.ExtraConfig.KubeInformers}

	shared := c.ExtraConfig.Shared
	if shared == nil {
		if shared, err = NewShared(c.GenericConfig.RESTOptionsGetter, c.GenericConfig.Authorization.Authorizer); err != nil {
			return nil, err
		}
	}
	// The ledger's storage is not one of the API's, whose storages the generic server
	// closes on shutdown: closed with them, it leaves no watch open on etcd (an embedded
	// etcd would otherwise wait for it before it stops).
	generic.RegisterDestroyFunc(shared.Reservations.Destroy)
	configStorage, err := c.configStorage(shared)
	if err != nil {
		return nil, err
	}
	configGroup := genericapiserver.NewDefaultAPIGroupInfo(config.GroupName, scheme.Scheme, metav1.ParameterCodec, scheme.Codecs)
	configGroup.NegotiatedSerializer = NegotiatedSerializer
	configGroup.VersionedResourcesStorageMap["v1alpha1"] = configStorage
	if err := generic.InstallAPIGroup(&configGroup); err != nil {
		return nil, fmt.Errorf("installing %s: %w", config.GroupName, err)
	}
	if c.ExtraConfig.KubeClient == nil {
		return s, nil
	}
	configClient, err := versioned.NewForConfig(generic.LoopbackClientConfig)
	if err != nil {
		return nil, err
	}
	configInformers := configinformers.NewSharedInformerFactory(configClient, 0)
	feed, err := newAccessFeed(shared.Index, c.ExtraConfig.KubeInformers, configInformers)
	if err != nil {
		return nil, err
	}
	self := &selfUser{}
	recorder := c.activityRecorder(feed, self)
	members := hub.NewMembers(configInformers.Config().V1alpha1().Clusters().Lister(), c.secrets)
	if err := c.installTenancy(generic, shared, feed, configClient, recorder, members, configInformers.Config().V1alpha1().Clusters().Informer().HasSynced); err != nil {
		return nil, err
	}
	var etcdClient *clientv3.Client
	if c.ExtraConfig.LocalEtcd != nil {
		etcdClient = c.ExtraConfig.LocalEtcd()
	}
	charger, err := accountquota.NewCharger(c.GenericConfig.RESTOptionsGetter, quota.ChargeFieldManager, etcdClient)
	if err != nil {
		return nil, err
	}
	generic.RegisterDestroyFunc(charger.Destroy)
	accountquotaadmission.RegisterMetrics()
	quotaInformer := configInformers.Config().V1alpha1().AccountQuotas().Informer()
	if err := quota.IndexByAccount(quotaInformer); err != nil {
		return nil, err
	}
	quotaHook.Set(&accountquotaadmission.Webhook{
		Spaces:  feed.index.Spaces(),
		Ready:   feed.index.Ready,
		Quotas:  quotaInformer.GetIndexer(),
		Charger: charger,
	})
	if err := c.installPodWebhook(generic, podHook, shared, feed, configInformers, self); err != nil {
		return nil, err
	}
	if err := installActivity(generic, recorder, activityHook, auditHook); err != nil {
		return nil, err
	}
	if err := c.installControllers(generic, configClient, configInformers, feed, shared, members); err != nil {
		return nil, err
	}
	return s, nil
}

// installTenancy serves the per-user views of tenancy.kiosk.sh.
func (c completedConfig) installTenancy(generic *genericapiserver.GenericAPIServer, shared *Shared, feed *accessFeed,
	configClient versioned.Interface, recorder *activity.Recorder, members *hub.Members, membersSynced func() bool) error {
	accountStorage, ledger := shared.Accounts, shared.Reservations
	visibility := tenancyregistry.Visibility{
		Authorizer: c.GenericConfig.Authorization.Authorizer,
		ClusterWide: &tenancyregistry.ClusterWide{
			Kube:       c.ExtraConfig.KubeClient,
			Generation: feed.index.ClusterRBACGeneration,
			TTL:        5 * time.Second,
			Settle:     clusterSettle,
		},
	}
	reader := accounts.Reader{Storage: accountStorage, Scheme: scheme.Scheme}
	group := genericapiserver.NewDefaultAPIGroupInfo(tenancy.GroupName, scheme.Scheme, metav1.ParameterCodec, scheme.Codecs)
	group.NegotiatedSerializer = NegotiatedSerializer
	spaces := space.NewREST(feed.index, visibility, space.Writer{Kube: c.ExtraConfig.KubeClient, Accounts: reader, Reservations: ledger, Config: configClient, Enforced: shared.SpaceAdmission.Enforced})
	spaces.OnGet = func(u user.Info, name string) {
		recorder.Observe(sleep.Request{User: u.GetName(), Groups: u.GetGroups(), Verb: "get", Group: tenancy.GroupName, Resource: "spaces"},
			name, activity.SourceSpaceGet)
	}
	hubSpaces, views := space.NewHubREST(spaces, members, c.ExtraConfig.HubCache)
	hub.RegisterMetrics()
	if err := generic.AddPostStartHook("tenancy-hub-view-cache", func(ctx genericapiserver.PostStartHookContext) error {
		go views.Run(ctx)
		return nil
	}); err != nil {
		return err
	}
	group.VersionedResourcesStorageMap["v1alpha1"] = map[string]rest.Storage{
		"spaces":   hubSpaces,
		"accounts": tenancyaccount.NewREST(feed.index, accountStorage, scheme.Scheme, visibility),
	}
	if err := generic.InstallAPIGroup(&group); err != nil {
		return fmt.Errorf("installing %s: %w", tenancy.GroupName, err)
	}
	// Serve no empty lists after a restart: ready only once the access index holds what
	// existed at start.
	return generic.AddReadyzChecks(healthz.NamedCheck("tenancy-access-index", func(*http.Request) error {
		if !feed.index.Ready() {
			return errors.New("access index not synced")
		}
		if !membersSynced() {
			return errors.New("member clusters not synced")
		}
		return nil
	}))
}

// installControllers starts the controllers after the server serves and the access index is
// ready, on the leader only.
func (c completedConfig) installControllers(generic *genericapiserver.GenericAPIServer,
	configClient versioned.Interface, configInformers configinformers.SharedInformerFactory, feed *accessFeed, shared *Shared,
	members *hub.Members) error {
	kube := c.ExtraConfig.KubeClient
	kubeInformers := c.ExtraConfig.KubeInformers
	accounts, err := accountcontroller.New(kube, configClient,
		configInformers.Config().V1alpha1().Accounts(),
		kubeInformers.Core().V1().Namespaces(),
		kubeInformers.Rbac().V1().RoleBindings(),
		configInformers.Config().V1alpha1().TemplateInstances(),
		kubeInformers.Networking().V1().NetworkPolicies())
	if err != nil {
		return err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(kube.Discovery()))
	instances, err := templateinstancecontroller.New(configClient, kube, c.ExtraConfig.KubeDynamic, mapper,
		c.ExtraConfig.Charts,
		configInformers.Config().V1alpha1().TemplateInstances(),
		configInformers.Config().V1alpha1().Templates(),
		configInformers.Config().V1alpha1().Accounts(),
		kubeInformers.Core().V1().Namespaces())
	if err != nil {
		return err
	}
	quotas, err := accountquotacontroller.New(configClient, c.ExtraConfig.KubeDynamic, mapper,
		configInformers.Config().V1alpha1().AccountQuotas(),
		kubeInformers.Core().V1().Namespaces(),
		kubeInformers.Core().V1().Pods())
	if err != nil {
		return err
	}
	sleeper, err := sleepcontroller.New(kube, c.ExtraConfig.KubeDynamic, kubeInformers.Core().V1().Namespaces())
	if err != nil {
		return err
	}
	sleeper.Release = shared.Reservations.Release
	clusters, err := clustercontroller.New(configClient, configInformers.Config().V1alpha1().Clusters(), c.secrets, clusterProbeInterval)
	if err != nil {
		return err
	}
	copies, err := hubaccount.New(configClient, configInformers.Config().V1alpha1().Accounts(),
		configInformers.Config().V1alpha1().AccountQuotas(), configInformers.Config().V1alpha1().Templates(),
		configInformers.Config().V1alpha1().Clusters(), members, c.hubID())
	if err != nil {
		return err
	}
	workers := c.ExtraConfig.ControllerWorkers
	// The controllers stop, and the leader gives its Lease up, as soon as shutdown begins (a
	// pre-shutdown hook), not once the HTTP server has drained: the next leader takes over at
	// once, and the process does not exit before the Lease is released.
	elected := newShutdownGate()
	if err := generic.AddPreShutdownHook("tenancy-controllers-release-lease", elected.stop); err != nil {
		return err
	}
	return generic.AddPostStartHook("tenancy-controllers", func(ctx genericapiserver.PostStartHookContext) error {
		configInformers.Start(ctx.Done())
		kubeInformers.Start(ctx.Done())
		go feed.run(ctx)
		electCtx, done := elected.start(ctx)
		go func() {
			defer done()
			// The controllers' first reconciles would compete for the cores with what the
			// index loads at start, and they read the same informers: they start once the
			// index is ready.
			select {
			case <-feed.ready:
			case <-electCtx.Done():
				return
			}
			err := controller.RunElected(electCtx, kube, c.ExtraConfig.LeaderElection,
				func(ctx context.Context) { accounts.Run(ctx, workers) },
				func(ctx context.Context) { instances.Run(ctx, workers) },
				func(ctx context.Context) { quotas.Run(ctx, workers) },
				func(ctx context.Context) { sleeper.Run(ctx, workers) },
				func(ctx context.Context) { clusters.Run(ctx, workers) },
				func(ctx context.Context) { copies.Run(ctx, workers) },
			)
			if err != nil {
				klog.ErrorS(err, "Controllers stopped")
			}
		}()
		return nil
	})
}

func (c completedConfig) configStorage(shared *Shared) (map[string]rest.Storage, error) {
	opts := c.GenericConfig.RESTOptionsGetter
	accounts, accountStatus := shared.Accounts, shared.AccountStatus
	quotas, quotaStatus, err := accountquota.NewREST(scheme.Scheme, opts)
	if err != nil {
		return nil, err
	}
	templates, err := template.NewREST(scheme.Scheme, opts)
	if err != nil {
		return nil, err
	}
	instances, instanceStatus, err := templateinstance.NewREST(scheme.Scheme, opts)
	if err != nil {
		return nil, err
	}
	clusters, clusterStatus, err := cluster.NewREST(scheme.Scheme, opts)
	if err != nil {
		return nil, err
	}
	return map[string]rest.Storage{
		"clusters":                 clusters,
		"clusters/status":          clusterStatus,
		"accounts":                 accounts,
		"accounts/status":          accountStatus,
		"accountquotas":            quotas,
		"accountquotas/status":     quotaStatus,
		"templates":                templates,
		"templateinstances":        instances,
		"templateinstances/status": instanceStatus,
	}, nil
}

// clusterProbeInterval is how often the Cluster controller probes each member.
const clusterProbeInterval = 10 * time.Second

// hubID names this server's cluster on the copies it keeps in member clusters: the UID of
// its kube-system namespace, the same for every replica and across restarts.
func (c completedConfig) hubID() func(ctx context.Context) (string, error) {
	var mu sync.Mutex
	var id string
	return func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if id != "" {
			return id, nil
		}
		ns, err := c.ExtraConfig.KubeClient.CoreV1().Namespaces().Get(ctx, metav1.NamespaceSystem, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		id = string(ns.UID)
		return id, nil
	}
}

// secrets reads the credentials Secrets of Clusters with the server's own client.
func (c completedConfig) secrets(ctx context.Context, namespace, name string) (*corev1.Secret, error) {
	return c.ExtraConfig.KubeClient.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
}
