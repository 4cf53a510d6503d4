// Package tenancy holds what the tenancy.kiosk.sh views share: who may see which Space and
// which Account.
package tenancy

import (
	"context"
	"fmt"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
)

// Visibility decides who sees which Space and which Account by asking the server's
// delegated authorizer (kube-apiserver, through cached SubjectAccessReviews).
type Visibility struct {
	Authorizer authorizer.Authorizer
	// ClusterWide, when set, answers the cluster-wide list questions, which decide whether
	// a user sees everything, with a cache that RBAC changes invalidate.
	ClusterWide *ClusterWide
}

// Allowed reports whether the authorizer allows the request described by attrs.
func (v Visibility) Allowed(ctx context.Context, attrs authorizer.AttributesRecord) (bool, error) {
	decision, _, err := v.Authorizer.Authorize(ctx, attrs)
	if err != nil && decision != authorizer.DecisionAllow {
		return false, fmt.Errorf("authorizing %s %s for %q: %w", attrs.Verb, attrs.Resource, attrs.User.GetName(), err)
	}
	return decision == authorizer.DecisionAllow, nil
}

// SeesAllSpaces reports whether u may list namespaces cluster-wide, and so sees every Space.
func (v Visibility) SeesAllSpaces(ctx context.Context, u user.Info) (bool, error) {
	if v.ClusterWide != nil {
		return v.ClusterWide.Allowed(ctx, u, "list", "", "namespaces")
	}
	return v.Allowed(ctx, authorizer.AttributesRecord{User: u, Verb: "list", Resource: "namespaces", ResourceRequest: true})
}

// SeesSpace reports whether u may get the namespace of the Space name.
func (v Visibility) SeesSpace(ctx context.Context, u user.Info, name string) (bool, error) {
	return v.Allowed(ctx, authorizer.AttributesRecord{
		User: u, Verb: "get", Resource: "namespaces", Name: name, Namespace: name, ResourceRequest: true,
	})
}

// SeesAllAccounts reports whether u may list config.kiosk.sh Accounts.
func (v Visibility) SeesAllAccounts(ctx context.Context, u user.Info) (bool, error) {
	if v.ClusterWide != nil {
		return v.ClusterWide.Allowed(ctx, u, "list", "config.kiosk.sh", "accounts")
	}
	return v.Allowed(ctx, authorizer.AttributesRecord{
		User: u, Verb: "list", APIGroup: "config.kiosk.sh", Resource: "accounts", ResourceRequest: true,
	})
}

// SeesAccount reports whether u is one of the Account's subjects or may get it.
func (v Visibility) SeesAccount(ctx context.Context, u user.Info, name string, subjects []rbacv1.Subject) (bool, error) {
	if IsSubject(u, subjects) {
		return true, nil
	}
	return v.Allowed(ctx, authorizer.AttributesRecord{
		User: u, Verb: "get", APIGroup: "config.kiosk.sh", Resource: "accounts", Name: name, ResourceRequest: true,
	})
}

// MayWriteAccounts reports whether u may perform verb on config.kiosk.sh Accounts.
func (v Visibility) MayWriteAccounts(ctx context.Context, u user.Info, verb, name string) (bool, error) {
	return v.Allowed(ctx, authorizer.AttributesRecord{
		User: u, Verb: verb, APIGroup: "config.kiosk.sh", Resource: "accounts", Name: name, ResourceRequest: true,
	})
}

// SubjectOf is the access index's name for a user.
func SubjectOf(u user.Info) access.Subject {
	return access.Subject{User: u.GetName(), Groups: u.GetGroups()}
}

// IsSubject reports whether u matches one of the subjects, as an RBAC binding would.
func IsSubject(u user.Info, subjects []rbacv1.Subject) bool {
	return access.IsSubject(SubjectOf(u), subjects)
}
