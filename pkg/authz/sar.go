// Package authz asks kube-apiserver what a user may do, through SubjectAccessReviews, with a
// short cache so that a burst of requests from one user costs one review.
package authz

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/apiserver/pkg/authentication/user"
	authorizationclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
)

// Reviewer answers whether a user may perform an action, as kube-apiserver's authorizers decide.
type Reviewer struct {
	client authorizationclient.SubjectAccessReviewInterface
	ttl    time.Duration
	cache  *cache.LRUExpireCache
}

// NewReviewer returns a Reviewer that remembers each answer for ttl.
func NewReviewer(client authorizationclient.SubjectAccessReviewInterface, ttl time.Duration) *Reviewer {
	return &Reviewer{client: client, ttl: ttl, cache: cache.NewLRUExpireCache(4096)}
}

// Allowed reports whether u may perform the action described by attrs.
func (r *Reviewer) Allowed(ctx context.Context, u user.Info, attrs authorizationv1.ResourceAttributes) (bool, error) {
	key := cacheKey(u, attrs)
	if v, ok := r.cache.Get(key); ok {
		return v.(bool), nil
	}
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		ResourceAttributes: &attrs,
		User:               u.GetName(),
		Groups:             u.GetGroups(),
		UID:                u.GetUID(),
		Extra:              extra(u),
	}}
	out, err := r.client.Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("asking kube-apiserver whether %q may %s %s: %w", u.GetName(), attrs.Verb, attrs.Resource, err)
	}
	r.cache.Add(key, out.Status.Allowed, r.ttl)
	return out.Status.Allowed, nil
}

func extra(u user.Info) map[string]authorizationv1.ExtraValue {
	if len(u.GetExtra()) == 0 {
		return nil
	}
	out := make(map[string]authorizationv1.ExtraValue, len(u.GetExtra()))
	for k, v := range u.GetExtra() {
		out[k] = v
	}
	return out
}

func cacheKey(u user.Info, a authorizationv1.ResourceAttributes) string {
	groups := append([]string(nil), u.GetGroups()...)
	sort.Strings(groups)
	var extras []string
	for k, v := range u.GetExtra() {
		extras = append(extras, k+"="+strings.Join(v, ","))
	}
	sort.Strings(extras)
	return strings.Join([]string{
		u.GetName(), u.GetUID(), strings.Join(groups, ","), strings.Join(extras, ";"),
		a.Verb, a.Group, a.Resource, a.Subresource, a.Namespace, a.Name,
	}, "\x00")
}
