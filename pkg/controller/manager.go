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
// at once when leader election is off. Losing the lease stops the controllers and campaigns
// again, so a replica that loses leadership keeps serving the API.
//
// When ctx ends, RunElected stops the controllers, waits until each has returned, then gives
// the Lease up (its holder cleared, so that the next process leads at once instead of waiting
// for it to expire), and returns.
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
	// The election outlives ctx until the controllers have stopped: releasing the Lease while
	// they still run would let the next leader's controllers overlap with them.
	elect, stopElection := context.WithCancel(context.WithoutCancel(ctx))
	defer stopElection()
	for ctx.Err() == nil {
		var elector *leaderelection.LeaderElector
		elector, err = leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			LeaseDuration:   cfg.LeaseDuration.Duration,
			RenewDeadline:   cfg.RenewDeadline.Duration,
			RetryPeriod:     cfg.RetryPeriod.Duration,
			ReleaseOnCancel: true,
			Name:            cfg.ResourceName,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(lead context.Context) {
					controllersCtx, cancel := context.WithCancel(lead)
					defer cancel()
					stop := context.AfterFunc(ctx, cancel)
					defer stop()
					run(controllersCtx)
					if ctx.Err() != nil {
						klog.InfoS("Controllers stopped for shutdown; releasing the Lease", "identity", id)
						stopElection()
					}
				},
				OnStoppedLeading: func() { klog.InfoS("Stopped leading; controllers stopped", "identity", id) },
				OnNewLeader: func(leader string) {
					klog.InfoS("Controllers leader", "leader", leader, "self", leader == id)
				},
			},
		})
		if err != nil {
			return fmt.Errorf("leader election: %w", err)
		}
		// A process that does not lead stops campaigning as soon as ctx ends; the leader
		// stops once its controllers have (above).
		stop := context.AfterFunc(ctx, func() {
			if !elector.IsLeader() {
				stopElection()
			}
		})
		elector.Run(elect)
		stop()
		if elect.Err() != nil {
			break
		}
	}
	return nil
}
