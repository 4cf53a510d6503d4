package accounts

import (
	"context"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
)

// Storage is where Accounts are read from: the config.kiosk.sh Account storage, which
// answers with the internal type.
type Storage interface {
	Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error)
}

// Reader reads Accounts from their storage as v1alpha1.
type Reader struct {
	Storage Storage
	// Scheme converts stored Accounts to v1alpha1.
	Scheme runtime.ObjectConvertor
}

// Get returns Account name as v1alpha1, or the storage's error (NotFound when there is
// none).
func (r Reader) Get(ctx context.Context, name string) (*configv1alpha1.Account, error) {
	obj, err := r.Storage.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	account := &configv1alpha1.Account{}
	if err := r.Scheme.Convert(obj, account, nil); err != nil {
		return nil, err
	}
	return account, nil
}
