// Package registrytest gives registry tests a real etcd to store objects in.
package registrytest

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	etcd3testing "k8s.io/apiserver/pkg/storage/etcd3/testing"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apiserver"
)

// RESTOptions starts an embedded etcd for the test and returns options that store the
// config.kiosk.sh resource there, encoded as v1alpha1 as the server stores it.
func RESTOptions(t *testing.T, resource string) generic.RESTOptions {
	t.Helper()
	server, sc := etcd3testing.NewUnsecuredEtcd3TestClientServer(t)
	t.Cleanup(func() { server.Terminate(t) })
	sc.Codec = apiserver.Codecs.LegacyCodec(configv1alpha1.SchemeGroupVersion)
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
