// Package registrytest gives registry tests a real etcd to store objects in.
package registrytest

import (
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage/etcd3/testserver"
	"k8s.io/apiserver/pkg/storage/storagebackend"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/scheme"
)

// RESTOptions starts an embedded etcd for the test and returns options that store the
// config.kiosk.sh resource there, encoded as v1alpha1 as the server stores it. The etcd
// skips fsync, which is enough for tests of behaviour.
func RESTOptions(t testing.TB, resource string) generic.RESTOptions {
	return StartEtcd(t, false).Options(resource)
}

// Etcd is a real etcd running in the test's process until the test ends.
type Etcd struct {
	etcd *embed.Etcd
}

// StartEtcd starts an etcd for the test. With durable set it syncs every write to disk, as
// a production etcd does: for benchmarks whose figures include the storage's latency.
func StartEtcd(t testing.TB, durable bool) *Etcd {
	t.Helper()
	cfg := testserver.NewTestConfig(t)
	cfg.UnsafeNoFsync = !durable
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(60 * time.Second):
		t.Fatal("etcd took too long to start")
	}
	return &Etcd{etcd: e}
}

// Options stores the config.kiosk.sh resource in this etcd, reached over its client URL.
func (e *Etcd) Options(resource string) generic.RESTOptions {
	var endpoints []string
	for _, u := range e.etcd.Clients {
		endpoints = append(endpoints, "http://"+u.Addr().String())
	}
	sc := storagebackend.Config{
		Type:      storagebackend.StorageTypeETCD3,
		Prefix:    "/registry",
		Transport: storagebackend.TransportConfig{ServerList: endpoints},
		Codec:     scheme.Codecs.LegacyCodec(configv1alpha1.SchemeGroupVersion),
	}
	return generic.RESTOptions{
		StorageConfig:           sc.ForResource(config.Resource(resource)),
		Decorator:               generic.UndecoratedStorage,
		DeleteCollectionWorkers: 1,
		ResourcePrefix:          resource,
	}
}

// Client returns a client that calls this etcd inside the process, as the server's
// embedded etcd is called.
func (e *Etcd) Client() *clientv3.Client { return v3client.New(e.etcd.Server) }

// Getter hands out the same options for every resource.
type Getter struct{ Options generic.RESTOptions }

// GetRESTOptions implements generic.RESTOptionsGetter.
func (g Getter) GetRESTOptions(_ schema.GroupResource, _ runtime.Object) (generic.RESTOptions, error) {
	return g.Options, nil
}
