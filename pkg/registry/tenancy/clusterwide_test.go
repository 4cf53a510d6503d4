package tenancy

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

// Answers are kept for TTL within one generation, asked again after a change of
// generation, and not kept for Settle after one, so that an answer kube-apiserver gave
// before it saw the change is asked again.
func TestClusterWideCache(t *testing.T) {
	kube := fake.NewClientset()
	allowed, asked := true, 0
	kube.PrependReactor("create", "subjectaccessreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		asked++
		return true, &authorizationv1.SubjectAccessReview{Status: authorizationv1.SubjectAccessReviewStatus{Allowed: allowed}}, nil
	})
	var generation uint64
	clock := time.Unix(1000, 0)
	c := &ClusterWide{Kube: kube, Generation: func() uint64 { return generation }, TTL: 5 * time.Second,
		Settle: 500 * time.Millisecond, now: func() time.Time { return clock }}
	u := &user.DefaultInfo{Name: "dev", Groups: []string{"b", "a"}}
	ask := func(want bool, wantAsked int, what string) {
		t.Helper()
		got, err := c.Allowed(context.Background(), u, "list", "", "namespaces")
		require.NoError(t, err)
		assert.Equal(t, want, got, what)
		assert.Equal(t, wantAsked, asked, what)
	}
	ask(true, 1, "the first question")
	clock = clock.Add(time.Second)
	ask(true, 1, "kept")
	allowed = false
	clock = clock.Add(time.Second)
	ask(true, 1, "kept within TTL")
	generation++
	ask(false, 2, "a change of generation asks again")
	allowed = true // kube-apiserver answered before it saw the change
	clock = clock.Add(100 * time.Millisecond)
	ask(true, 3, "within Settle of the change nothing is kept")
	allowed = false
	clock = clock.Add(500 * time.Millisecond)
	ask(false, 4, "after Settle the answer is asked again, and kept")
	allowed = true
	ask(false, 4, "kept")
	clock = clock.Add(5 * time.Second)
	ask(true, 5, "after TTL the answer is asked again")
}

// Two requests of one user that differ in what the review sends (extra: scopes, credential
// IDs) never share an answer: an authorizer may answer them differently.
func TestClusterWideCacheKeepsUsersApartByExtra(t *testing.T) {
	kube := fake.NewClientset()
	kube.PrependReactor("create", "subjectaccessreviews", func(action k8stesting.Action) (bool, runtime.Object, error) {
		sar := action.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview)
		_, scoped := sar.Spec.Extra["scopes.example.com"]
		return true, &authorizationv1.SubjectAccessReview{Status: authorizationv1.SubjectAccessReviewStatus{Allowed: !scoped}}, nil
	})
	c := &ClusterWide{Kube: kube, Generation: func() uint64 { return 0 }, TTL: time.Hour}
	full := &user.DefaultInfo{Name: "dev", Groups: []string{"a"}}
	scoped := &user.DefaultInfo{Name: "dev", Groups: []string{"a"}, Extra: map[string][]string{"scopes.example.com": {"read-own"}}}
	for _, tc := range []struct {
		u    user.Info
		want bool
	}{{full, true}, {scoped, false}, {full, true}, {scoped, false}} {
		got, err := c.Allowed(context.Background(), tc.u, "list", "", "namespaces")
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, "extra %v", tc.u.GetExtra())
	}
}
