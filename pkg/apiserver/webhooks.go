package apiserver

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/healthz"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/accounts"
	podadmission "github.com/tenancy-apiserver/tenancy-apiserver/pkg/admission/pod"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/admission/webhook"
	configinformers "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/informers/externalversions"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/scheme"
)

// installPodWebhook serves the Pod isolation webhook at hook: the Accounts from their
// informer (and storage), nodes and PriorityClasses from kube-apiserver's informers, and
// the server's own user name, learnt from kube-apiserver once it serves.
func (c completedConfig) installPodWebhook(generic *genericapiserver.GenericAPIServer, hook *webhook.Hook,
	shared *Shared, feed *accessFeed, configInformers configinformers.SharedInformerFactory, self *selfUser) error {
	kube := c.ExtraConfig.KubeClient
	accountInformer := configInformers.Config().V1alpha1().Accounts()
	nodes := c.ExtraConfig.KubeInformers.Core().V1().Nodes()
	classes := c.ExtraConfig.KubeInformers.Scheduling().V1().PriorityClasses()
	synced := []func() bool{accountInformer.Informer().HasSynced, nodes.Informer().HasSynced, classes.Informer().HasSynced}
	allSynced := func() bool {
		for _, s := range synced {
			if !s() {
				return false
			}
		}
		return true
	}
	podadmission.RegisterMetrics()
	hook.Set(&podadmission.Webhook{
		Spaces: feed.index.Spaces(),
		Namespace: func(ctx context.Context, name string) (*corev1.Namespace, error) {
			return kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		},
		Accounts: podadmission.Accounts{
			Lister:  accountInformer.Lister(),
			Storage: accounts.Reader{Storage: shared.Accounts, Scheme: scheme.Scheme},
		},
		Cluster: podadmission.Listers{Nodes: nodes.Lister(), PriorityClasses: classes.Lister()},
		Synced:  allSynced,
		Exempt:  self.is,
	})
	// A replica that would refuse every Pod takes no traffic.
	if err := generic.AddReadyzChecks(healthz.NamedCheck("tenancy-pod-isolation-caches", func(*http.Request) error {
		if !allSynced() {
			return errors.New("Accounts, nodes and PriorityClasses not synced")
		}
		return nil
	})); err != nil {
		return err
	}
	return generic.AddPostStartHook("tenancy-pod-webhook-identity", func(ctx genericapiserver.PostStartHookContext) error {
		go self.learn(ctx, kube)
		return nil
	})
}

// selfUser is the name kube-apiserver knows this server by (its ServiceAccount in a
// cluster), so that the Pod isolation webhook admits the server's own Pods as they are, and
// sleep mode does not take the server's own writes (scaling a Space down) for activity.
type selfUser struct{ name atomic.Pointer[string] }

func (s *selfUser) is(user string) bool {
	name := s.name.Load()
	return name != nil && user != "" && *name == user
}

// learn asks kube-apiserver who this server is, until it answers.
func (s *selfUser) learn(ctx context.Context, kube kubernetes.Interface) {
	_ = wait.PollUntilContextCancel(ctx, 2*time.Second, true, func(ctx context.Context) (bool, error) {
		review, err := kube.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
		if err != nil {
			klog.ErrorS(err, "Asking kube-apiserver for this server's user name; its own Pods are held to isolation until it answers")
			return false, nil
		}
		name := review.Status.UserInfo.Username
		s.name.Store(&name)
		klog.InfoS("The Pod isolation webhook admits this server's own Pods as they are", "user", name)
		return true, nil
	})
}
