// Package controller runs this server's controllers, on the elected leader only.
package controller

import (
	"context"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	componentbaseconfig "k8s.io/component-base/config"
	"k8s.io/klog/v2"
)

// Runnable is a controller: it runs until its context ends.
type Runnable func(ctx context.Context)

// RunElected runs the controllers while this process holds the Lease described by cfg, or
// at once when leader election is off. It returns when ctx ends. Losing the lease stops the
// controllers and campaigns again, so a replica that loses leadership keeps serving the API.
func RunElected(ctx context.Context, kube kubernetes.Interface, cfg componentbaseconfig.LeaderElectionConfiguration, controllers ...Runnable) error {
	run := func(ctx context.Context) {
		done := make(chan struct{}, len(controllers))
		for _, c := range controllers {
			go func() {
				defer func() { done <- struct{}{} }()
				c(ctx)
			}()
		}
		<-ctx.Done()
		for range controllers {
			<-done
		}
	}
	if !cfg.LeaderElect {
		run(ctx)
		return nil
	}
	host, err := os.Hostname()
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	id := host + "_" + string(uuid.NewUUID())
	lock, err := resourcelock.New(cfg.ResourceLock, cfg.ResourceNamespace, cfg.ResourceName,
		kube.CoreV1(), kube.CoordinationV1(), resourcelock.ResourceLockConfig{Identity: id})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	klog.InfoS("Campaigning for the controllers' Lease", "lease", cfg.ResourceNamespace+"/"+cfg.ResourceName, "identity", id)
	for ctx.Err() == nil {
		leaderelection.RunOrDie(ctx, leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   cfg.LeaseDuration.Duration,
			RenewDeadline:   cfg.RenewDeadline.Duration,
			RetryPeriod:     cfg.RetryPeriod.Duration,
			ReleaseOnCancel: true,
			Name:            cfg.ResourceName,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: run,
				OnStoppedLeading: func() { klog.InfoS("Stopped leading; controllers stopped", "identity", id) },
				OnNewLeader: func(leader string) {
					klog.InfoS("Controllers leader", "leader", leader, "self", leader == id)
				},
			},
		})
	}
	return nil
}
