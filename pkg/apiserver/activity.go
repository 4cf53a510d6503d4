package apiserver

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/util/retry"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/admission/activity"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/admission/webhook"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/sleep"
)

// activityRecorder records sleep mode's activity in the Spaces' namespaces, on every
// replica: the Spaces from the access index, this server's own requests not counted.
func (c completedConfig) activityRecorder(feed *accessFeed, self *selfUser) *activity.Recorder {
	kube := c.ExtraConfig.KubeClient
	return &activity.Recorder{
		Space: func(name string) (*corev1.Namespace, bool) { return feed.index.Spaces().Snapshot().Get(name) },
		Self:  self.is,
		Write: func(ctx context.Context, name string, at time.Time) error {
			return retry.RetryOnConflict(retry.DefaultRetry, func() error {
				ns, err := kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
				if apierrors.IsNotFound(err) {
					return nil
				}
				if err != nil {
					return err
				}
				if !sleep.Unix(ns.Annotations, sleep.LastActivity).Before(at.Truncate(time.Second)) {
					return nil // a later activity is recorded already
				}
				if ns.Annotations == nil {
					ns.Annotations = map[string]string{}
				}
				ns.Annotations[sleep.LastActivity] = sleep.FormatUnix(at)
				_, err = kube.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{FieldManager: configv1alpha1.FieldManager})
				return err
			})
		},
	}
}

// installActivity serves the activity webhook (and the audit sink, when on) and writes the
// activity they record once the server runs.
func installActivity(generic *genericapiserver.GenericAPIServer, recorder *activity.Recorder, hook, audit *webhook.Hook) error {
	activity.RegisterMetrics()
	hook.Set(&activity.Webhook{Recorder: recorder})
	if audit != nil {
		audit.Set(&activity.AuditSink{Recorder: recorder})
	}
	return generic.AddPostStartHook("tenancy-sleep-activity", func(ctx genericapiserver.PostStartHookContext) error {
		go recorder.Run(ctx)
		return nil
	})
}
