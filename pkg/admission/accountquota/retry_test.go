package accountquota_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/admission/accountquota"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/raw"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/registrytest"
)

// flakyCharger fails every other write as etcd does while it elects a new leader: with
// stored set, after the write was stored (the answer was lost), otherwise before.
type flakyCharger struct {
	accountquota.Charger
	stored bool

	mu       sync.Mutex
	writes   int
	failures int
}

func (c *flakyCharger) Commit(ctx context.Context, swaps ...raw.Swap) (bool, error) {
	c.mu.Lock()
	c.writes++
	fail := c.writes%2 == 1
	if fail {
		c.failures++
	}
	c.mu.Unlock()
	if !fail {
		return c.Charger.Commit(ctx, swaps...)
	}
	unavailable := status.Error(codes.Unavailable, "error reading from server: EOF")
	if c.stored {
		if _, err := c.Charger.Commit(ctx, swaps...); err != nil {
			return false, err
		}
	}
	return false, unavailable
}

// Writes that fail for a passing reason are tried again within the request's time: every
// request gets an answer, the quota admits exactly its hard limit, and the usage counts each
// admitted request once, whether the failed write had been stored or not.
func TestChargesRetryWritesThatFailedForAPassingReason(t *testing.T) {
	for _, stored := range []bool{false, true} {
		t.Run(fmt.Sprintf("failed write stored=%v", stored), func(t *testing.T) {
			f := newFixture(t, registrytest.RESTOptions(t, "accountquotas"), 1, accountQuota("pods", "pods", "10"))
			flaky := &flakyCharger{Charger: f.replicas[0].Charger, stored: stored}
			f.replicas[0].Charger = flaky
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				allowed int
				denied  int
			)
			for i := range 40 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					resp, code := send(t, f.replicas[0], review(t, "team-a", pod(fmt.Sprintf("p%d", i), ""), false))
					if !assert.Equal(t, http.StatusOK, code) {
						return
					}
					mu.Lock()
					defer mu.Unlock()
					switch {
					case resp.Allowed:
						allowed++
					case resp.Result.Code == http.StatusForbidden:
						denied++
					default:
						t.Errorf("not a quota answer: %d %s", resp.Result.Code, resp.Result.Message)
					}
				}()
			}
			wg.Wait()
			assert.Positive(t, flaky.failures, "writes failed")
			assert.Equal(t, 10, allowed, "admitted")
			assert.Equal(t, 30, denied, "refused over the quota")
			used := f.quota(t, "pods").Status.Total.Used
			assert.Equal(t, int64(10), used.Pods().Value(), "status.total.used counts each admitted Pod once: %v", used)
		})
	}
}
