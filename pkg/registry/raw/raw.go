// Package raw opens this server's storage below the API: keys the API does not serve, or the
// API's own keys for writers that must not pay for a request through it.
package raw

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend/factory"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
)

// Storage is an open raw storage under one key prefix.
type Storage struct {
	storage.Interface
	// Prefix is the key prefix; an object's key is Prefix/<name>.
	Prefix string
	// Destroy closes the storage.
	Destroy factory.DestroyFunc
}

// Open opens the storage of config.kiosk.sh resource, whose objects newFunc and newListFunc
// make, with the codec and key prefix the API uses for that resource.
func Open(optsGetter generic.RESTOptionsGetter, resource string, newFunc, newListFunc func() runtime.Object) (*Storage, error) {
	opts, err := optsGetter.GetRESTOptions(config.Resource(resource), newFunc())
	if err != nil {
		return nil, fmt.Errorf("%s storage: %w", resource, err)
	}
	prefix := "/" + opts.ResourcePrefix
	s, destroy, err := generic.NewRawStorage(opts.StorageConfig, newFunc, newListFunc, prefix)
	if err != nil {
		return nil, fmt.Errorf("%s storage: %w", resource, err)
	}
	return &Storage{Interface: s, Prefix: prefix, Destroy: destroy}, nil
}
