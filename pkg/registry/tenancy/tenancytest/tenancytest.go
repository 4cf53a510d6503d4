// Package tenancytest gives the tests of the tenancy.kiosk.sh storages their users and a
// kube-apiserver authorizer that follows a policy, without a server.
package tenancytest

import (
	"context"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
	tenancyregistry "github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/tenancy"
)

// As is the context of a request by the user name in groups for a cluster-scoped
// resource, as the server's handlers make it.
func As(name string, groups ...string) context.Context {
	ctx := genericapirequest.WithNamespace(context.Background(), metav1.NamespaceNone)
	return genericapirequest.WithUser(ctx, &user.DefaultInfo{Name: name, Groups: groups})
}

// Policy says what kube-apiserver's authorizers allow.
type Policy func(authorizer.Attributes) bool

// Visibility decides as a server whose kube-apiserver allows what policy allows: requests
// the server authorizes itself, and the cluster-wide questions it asks kube with a
// SubjectAccessReview, which the ClusterWide cache answers.
func Visibility(kube *fake.Clientset, index *access.Index, policy Policy) tenancyregistry.Visibility {
	kube.PrependReactor("create", "subjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		review := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SubjectAccessReview)
		spec, res := review.Spec, review.Spec.ResourceAttributes
		allowed := policy(authorizer.AttributesRecord{
			User: &user.DefaultInfo{Name: spec.User, Groups: spec.Groups}, Verb: res.Verb, APIGroup: res.Group,
			Resource: res.Resource, Namespace: res.Namespace, Name: res.Name, ResourceRequest: true})
		out := review.DeepCopy()
		out.Status.Allowed = allowed
		return true, out, nil
	})
	return tenancyregistry.Visibility{
		Authorizer: authorizer.AuthorizerFunc(func(_ context.Context, a authorizer.Attributes) (authorizer.Decision, string, error) {
			if policy(a) {
				return authorizer.DecisionAllow, "", nil
			}
			return authorizer.DecisionNoOpinion, "", nil
		}),
		ClusterWide: &tenancyregistry.ClusterWide{Kube: kube, Generation: index.ClusterRBACGeneration, TTL: time.Minute},
	}
}

// Allow allows the users named to perform verb on resource, anywhere.
func Allow(verb, resource string, users ...string) Policy {
	return func(a authorizer.Attributes) bool {
		if a.GetVerb() != verb || a.GetResource() != resource {
			return false
		}
		for _, u := range users {
			if a.GetUser().GetName() == u {
				return true
			}
		}
		return false
	}
}

// Any allows what one of policies allows.
func Any(policies ...Policy) Policy {
	return func(a authorizer.Attributes) bool {
		for _, p := range policies {
			if p(a) {
				return true
			}
		}
		return false
	}
}
