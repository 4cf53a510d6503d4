package space

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access/accesstest"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
	tenancyregistry "github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy"
)

// denyAll answers like kube-apiserver for a user without cluster-wide rights.
var denyAll = authorizer.AuthorizerFunc(func(context.Context, authorizer.Attributes) (authorizer.Decision, string, error) {
	return authorizer.DecisionNoOpinion, "", nil
})

// BenchmarkList is `kubectl get spaces` in the storage layer for a user who sees 10 Spaces,
// at 100, 1,000 and 10,000 namespaces: index lookup, selectors and conversion included.
func BenchmarkList(b *testing.B) { benchmarkList(b, 0) }

// BenchmarkListPaged is the same list in pages of 3 (`kubectl get spaces --chunk-size=3`):
// four requests, three of them with a continue token.
func BenchmarkListPaged(b *testing.B) { benchmarkList(b, 3) }

func benchmarkList(b *testing.B, limit int64) {
	for _, n := range []int{100, 1000, 10000, 100000} {
		b.Run(fmt.Sprintf("namespaces=%d", n), func(b *testing.B) {
			r := NewREST(accesstest.Shared(n, accesstest.RoleBindings), tenancyregistry.Visibility{Authorizer: denyAll}, Writer{})
			ctx := benchUser()
			samples := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				got, err := listAll(ctx, r, limit)
				samples = append(samples, time.Since(start))
				if err != nil {
					b.Fatal(err)
				}
				if got != accesstest.Visible {
					b.Fatalf("%d Spaces, want %d", got, accesstest.Visible)
				}
			}
			b.StopTimer()
			slices.Sort(samples)
			b.ReportMetric(float64(samples[len(samples)/2].Nanoseconds())/1e3, "p50-µs")
			b.ReportMetric(float64(samples[len(samples)*99/100].Nanoseconds())/1e3, "p99-µs")
		})
	}
}

// BenchmarkListScale is BenchmarkList at 1,000 and 100,000 namespaces in turns, so that
// both see the same machine: it reports the ratio of their medians.
func BenchmarkListScale(b *testing.B) {
	visibility := tenancyregistry.Visibility{Authorizer: denyAll}
	small := NewREST(accesstest.Shared(1000, accesstest.RoleBindings), visibility, Writer{})
	large := NewREST(accesstest.Shared(100000, accesstest.RoleBindings), visibility, Writer{})
	ctx := benchUser()
	var s, l []time.Duration
	b.ResetTimer()
	for range b.N {
		for _, c := range []struct {
			r   *REST
			out *[]time.Duration
		}{{small, &s}, {large, &l}} {
			start := time.Now()
			got, err := listAll(ctx, c.r, 0)
			*c.out = append(*c.out, time.Since(start))
			if err != nil || got != accesstest.Visible {
				b.Fatalf("%d Spaces (%v), want %d", got, err, accesstest.Visible)
			}
		}
	}
	b.StopTimer()
	accesstest.ReportScale(b, s, l)
}

func benchUser() context.Context {
	return genericapirequest.WithUser(context.Background(), &user.DefaultInfo{
		Name: accesstest.Subject.User, Groups: accesstest.Subject.Groups})
}

// listAll lists every Space the caller sees, in pages of limit (0: one page), and returns
// how many there were.
func listAll(ctx context.Context, r *REST, limit int64) (int, error) {
	n := 0
	options := &metainternalversion.ListOptions{Limit: limit}
	for {
		out, err := r.List(ctx, options)
		if err != nil {
			return n, err
		}
		list := out.(*tenancy.SpaceList)
		n += len(list.Items)
		if list.Continue == "" {
			return n, nil
		}
		options = &metainternalversion.ListOptions{Limit: limit, Continue: list.Continue}
	}
}
