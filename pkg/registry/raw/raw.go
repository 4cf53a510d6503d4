// Package raw opens this server's storage below the API: keys the API does not serve, or the
// API's own keys for writers that must not pay for a request through it.
package raw

import (
	"fmt"
	"sync"

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
	// Destroy closes the storage; calls after the first do nothing.
	Destroy factory.DestroyFunc
}

// Open opens the storage of config.kiosk.sh resource, whose objects newFunc and newListFunc
// make, with the codec and key prefix the API uses for that resource.
func Open(optsGetter generic.RESTOptionsGetter, resource string, newFunc, newListFunc func() runtime.Object) (*Storage, error) {
	return OpenWithCodec(optsGetter, resource, nil, newFunc, newListFunc)
}

// OpenWithCodec is Open for objects the API does not serve: they are stored with codec, at
// the key prefix and through the encryption of resource. A nil codec is the API's.
func OpenWithCodec(optsGetter generic.RESTOptionsGetter, resource string, codec runtime.Codec, newFunc, newListFunc func() runtime.Object) (*Storage, error) {
	opts, err := optsGetter.GetRESTOptions(config.Resource(resource), newFunc())
	if err != nil {
		return nil, fmt.Errorf("%s storage: %w", resource, err)
	}
	sc := opts.StorageConfig
	if codec != nil {
		copied := *sc
		copied.Codec = codec
		sc = &copied
	}
	prefix := "/" + opts.ResourcePrefix
	s, destroy, err := generic.NewRawStorage(sc, newFunc, newListFunc, prefix)
	if err != nil {
		return nil, fmt.Errorf("%s storage: %w", resource, err)
	}
	return &Storage{Interface: s, Prefix: prefix, Destroy: sync.OnceFunc(destroy)}, nil
}
