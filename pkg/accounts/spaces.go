package accounts

import (
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/access"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

// SpacesOf returns the names of the namespaces of account that index knows, whether they
// were made as Spaces or labelled by other means.
func SpacesOf(index *access.Index, account string) []string {
	var names []string
	for name, ns := range index.Spaces().Snapshot().All() {
		if ns.Labels[configv1alpha1.AccountLabel] == account {
			names = append(names, name)
		}
	}
	return names
}
