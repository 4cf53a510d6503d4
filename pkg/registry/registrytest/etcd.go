// Package registrytest gives registry tests a real etcd to store objects in.
package registrytest

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage/etcd3/testserver"
	"k8s.io/apiserver/pkg/storage/storagebackend"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apiserver"
)

// RESTOptions starts an embedded etcd for the test and returns options that store the
// config.kiosk.sh resource there, encoded as v1alpha1 as the server stores it. The etcd
// skips fsync, which is enough for tests of behaviour.
func RESTOptions(t testing.TB, resource string) generic.RESTOptions {
	return restOptions(t, resource, false)
}

// DurableRESTOptions is RESTOptions on an etcd that syncs every write to disk, as a
// production etcd does: for benchmarks whose figures include the storage's latency.
func DurableRESTOptions(t testing.TB, resource string) generic.RESTOptions {
	return restOptions(t, resource, true)
}

func restOptions(t testing.TB, resource string, fsync bool) generic.RESTOptions {
	t.Helper()
	cfg := testserver.NewTestConfig(t)
	cfg.UnsafeNoFsync = !fsync
	client := testserver.RunEtcd(t, cfg)
	sc := storagebackend.Config{
		Type:      storagebackend.StorageTypeETCD3,
		Prefix:    "/registry",
		Transport: storagebackend.TransportConfig{ServerList: client.Endpoints()},
		Codec:     apiserver.Codecs.LegacyCodec(configv1alpha1.SchemeGroupVersion),
	}
	return generic.RESTOptions{
		StorageConfig:           sc.ForResource(config.Resource(resource)),
		Decorator:               generic.UndecoratedStorage,
		DeleteCollectionWorkers: 1,
		ResourcePrefix:          resource,
	}
}

// Getter hands out the same options for every resource.
type Getter struct{ Options generic.RESTOptions }

// GetRESTOptions implements generic.RESTOptionsGetter.
func (g Getter) GetRESTOptions(_ schema.GroupResource, _ runtime.Object) (generic.RESTOptions, error) {
	return g.Options, nil
}
