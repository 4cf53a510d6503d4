package tenancy

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/kubernetes"
)

// ClusterWide answers "may this user list namespaces (or Accounts) cluster-wide?" with a
// SubjectAccessReview to kube-apiserver, which asks every authorizer it has, not only RBAC.
// Answers are cached briefly, and dropped as soon as a ClusterRole or ClusterRoleBinding
// changes, so that revoking such a permission hides the Spaces at once. For Settle after a
// change no answer is kept: kube-apiserver's authorizer may see the change a moment after
// this server, and an answer it gave before must not outlive that moment.
type ClusterWide struct {
	Kube kubernetes.Interface
	// Generation changes whenever cluster-wide RBAC changes.
	Generation func() uint64
	// TTL is how long an answer is kept.
	TTL time.Duration
	// Settle is how long after a change of Generation answers are not kept.
	Settle time.Duration

	mu      sync.Mutex
	answers map[string]answer
	// seen is the last generation asked about, and since when.
	seen   uint64
	seenAt time.Time
	// now is the clock, time.Now when nil.
	now func() time.Time
}

type answer struct {
	allowed    bool
	generation uint64
	expires    time.Time
}

const maxCachedAnswers = 10000

// Allowed reports whether u may perform verb on resource in group at the cluster scope.
func (c *ClusterWide) Allowed(ctx context.Context, u user.Info, verb, group, resource string) (bool, error) {
	key := cacheKey(u, verb, group, resource)
	generation := c.Generation()
	now := time.Now()
	if c.now != nil {
		now = c.now()
	}
	c.mu.Lock()
	if generation != c.seen {
		c.seen, c.seenAt = generation, now
	}
	keep := now.Sub(c.seenAt) >= c.Settle
	if a, ok := c.answers[key]; ok && a.generation == generation && now.Before(a.expires) {
		c.mu.Unlock()
		return a.allowed, nil
	}
	c.mu.Unlock()

	extra := map[string]authorizationv1.ExtraValue{}
	for k, v := range u.GetExtra() {
		extra[k] = v
	}
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups(), Extra: extra,
		ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: verb, Group: group, Resource: resource},
	}}
	out, err := c.Kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
	if err != nil {
		return false, fmt.Errorf("asking whether %q may %s %s: %w", u.GetName(), verb, resource, err)
	}
	if !keep {
		return out.Status.Allowed, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.answers == nil || len(c.answers) >= maxCachedAnswers {
		c.answers = map[string]answer{}
	}
	c.answers[key] = answer{allowed: out.Status.Allowed, generation: generation, expires: now.Add(c.TTL)}
	return out.Status.Allowed, nil
}

// cacheKey identifies an answer: the request and everything a SubjectAccessReview sends of
// the user, extra included (scopes, credential IDs), so that two requests of one user that
// an authorizer may tell apart never share an answer.
func cacheKey(u user.Info, verb, group, resource string) string {
	groups := slices.Clone(u.GetGroups())
	slices.Sort(groups)
	extra := u.GetExtra()
	keys := slices.Sorted(maps.Keys(extra))
	parts := []string{verb, group, resource, u.GetName(), u.GetUID(), strings.Join(groups, "\x00")}
	for _, k := range keys {
		parts = append(parts, k+"\x02"+strings.Join(extra[k], "\x00"))
	}
	return strings.Join(parts, "\x01")
}
