package controller

import (
	"context"
	"time"

	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"
)

// Queue feeds keys to a sync function, retrying failures with exponential backoff.
type Queue struct {
	name  string
	queue workqueue.TypedRateLimitingInterface[string]
	sync  func(ctx context.Context, key string) error
}

// NewQueue returns a queue for the controller name.
func NewQueue(name string, sync func(ctx context.Context, key string) error) *Queue {
	return &Queue{
		name: name,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: name}),
		sync: sync,
	}
}

// Add queues key.
func (q *Queue) Add(key string) { q.queue.Add(key) }

// Len is the number of keys waiting.
func (q *Queue) Len() int { return q.queue.Len() }

// Run syncs with workers once the informers have synced, until ctx is done.
func (q *Queue) Run(ctx context.Context, workers int, synced ...cache.InformerSynced) {
	defer utilruntime.HandleCrash()
	defer q.queue.ShutDown()
	logger := klog.FromContext(ctx).WithValues("controller", q.name)
	logger.Info("Starting controller")
	defer logger.Info("Stopped controller")
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return
	}
	for range workers {
		go wait.UntilWithContext(ctx, q.worker, time.Second)
	}
	<-ctx.Done()
}

func (q *Queue) worker(ctx context.Context) {
	for q.next(ctx) {
	}
}

func (q *Queue) next(ctx context.Context) bool {
	key, quit := q.queue.Get()
	if quit {
		return false
	}
	defer q.queue.Done(key)
	if err := q.sync(ctx, key); err != nil {
		klog.FromContext(ctx).Error(err, "Sync failed; retrying", "controller", q.name, "key", key)
		q.queue.AddRateLimited(key)
		return true
	}
	q.queue.Forget(key)
	return true
}

// AddAfter queues key once d has passed.
func (q *Queue) AddAfter(key string, d time.Duration) { q.queue.AddAfter(key, d) }
