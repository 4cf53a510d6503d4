package reservation

import (
	"context"
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/authorization/authorizer"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/tenancy"
)

// Reserver takes places under Account limits; Ledger is the server's.
type Reserver interface {
	Reserve(ctx context.Context, account, name string, limit int32, existing []string, dryRun bool) error
}

// ForSpace takes, or with dryRun only checks, the place of Space name of account for the
// caller u: nothing when the Account has no limit, or when u may create namespaces
// cluster-wide (allowed says so), since such callers could create and label the namespace
// themselves anyway; their Spaces still take places. existing lists the Account's namespaces;
// its error (the Spaces are not known yet) is returned as it is.
// A full Account is 403 Forbidden on the Space.
func ForSpace(ctx context.Context, r Reserver, allowed func(context.Context, authorizer.AttributesRecord) (bool, error),
	u user.Info, account *configv1alpha1.Account, name string, existing func() ([]string, error), dryRun bool) error {
	if account == nil || account.Spec.Space.Limit == nil {
		return nil
	}
	admin, err := allowed(ctx, authorizer.AttributesRecord{User: u, Verb: "create", Resource: "namespaces", ResourceRequest: true})
	if err != nil || admin {
		return err
	}
	spaces, err := existing()
	if err != nil {
		return err
	}
	err = r.Reserve(ctx, account.Name, name, *account.Spec.Space.Limit, spaces, dryRun)
	var limit *LimitError
	if errors.As(err, &limit) {
		return apierrors.NewForbidden(tenancy.Resource("spaces"), name, err)
	}
	return err
}
