package accounts

import (
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

// SpacesOf returns the names of the namespaces of account that index knows, whether they
// were made as Spaces or labelled by other means. Until the index holds every namespace that
// existed at start (it is ready), it knows none, and SpacesOf fails with ServiceUnavailable
// rather than answer that the account has none.
func SpacesOf(index *access.Index, account string) ([]string, error) {
	if !index.Ready() {
		return nil, apierrors.NewServiceUnavailable("not yet ready: the Spaces are not yet known")
	}
	var names []string
	for name, ns := range index.Spaces().Snapshot().All() {
		if ns.Labels[configv1alpha1.AccountLabel] == account {
			names = append(names, name)
		}
	}
	return names, nil
}
