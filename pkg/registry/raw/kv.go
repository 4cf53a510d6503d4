package raw

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/apiserver/pkg/storage/value"
	"k8s.io/apiserver/pkg/storage/value/encrypt/identity"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
)

// KV reads and writes the objects of one config.kiosk.sh resource as etcd values, at the
// keys, in the encoding and through the encryption the API uses, so that the API, its watch
// cache and its clients see every write as their own. A write is a compare-and-swap on the
// stored bytes: it replaces exactly the version it was decided on.
type KV struct {
	client      *clientv3.Client
	prefix      string
	codec       runtime.Codec
	transformer value.Transformer
	versioner   storage.Versioner
}

// Stored is one version of an object: as decoded, and as stored. Object is shared by
// everyone who holds the version and must not be changed.
type Stored struct {
	Object runtime.Object
	value  []byte
}

// Same reports whether a and b are the same stored bytes; nil is the absent object.
func (a *Stored) Same(b *Stored) bool {
	if a == nil || b == nil {
		return a == b
	}
	return bytes.Equal(a.value, b.value)
}

// OpenKV opens the storage of config.kiosk.sh resource through client, or, when client is
// nil, through an etcd client of its own made from the storage's transport settings. The KV
// closes client when it closes.
func OpenKV(optsGetter generic.RESTOptionsGetter, resource string, newFunc func() runtime.Object, client *clientv3.Client) (*KV, error) {
	opts, err := optsGetter.GetRESTOptions(config.Resource(resource), newFunc())
	if err != nil {
		return nil, fmt.Errorf("%s storage: %w", resource, err)
	}
	sc := opts.StorageConfig
	if client == nil {
		if client, err = dial(sc.Transport); err != nil {
			return nil, fmt.Errorf("%s storage: %w", resource, err)
		}
	}
	transformer := sc.Transformer
	if transformer == nil {
		transformer = identity.NewEncryptCheckTransformer()
	}
	// The key layout of k8s.io/apiserver's etcd3 store: the storage prefix, then the
	// resource prefix, then the name.
	prefix := path.Join("/", sc.Prefix, opts.ResourcePrefix)
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return &KV{client: client, prefix: prefix, codec: sc.Codec, transformer: transformer,
		versioner: storage.APIObjectVersioner{}}, nil
}

// dial makes an etcd client from the storage's transport settings.
func dial(tc storagebackend.TransportConfig) (*clientv3.Client, error) {
	if tc.EgressLookup != nil {
		return nil, fmt.Errorf("an egress selector for etcd is not supported")
	}
	cfg := clientv3.Config{
		Endpoints:            tc.ServerList,
		DialTimeout:          20 * time.Second,
		DialKeepAliveTime:    30 * time.Second,
		DialKeepAliveTimeout: 10 * time.Second,
		Logger:               zap.NewNop(),
	}
	if tc.CertFile != "" || tc.KeyFile != "" || tc.TrustedCAFile != "" {
		tlsInfo := transport.TLSInfo{CertFile: tc.CertFile, KeyFile: tc.KeyFile, TrustedCAFile: tc.TrustedCAFile}
		var err error
		if cfg.TLS, err = tlsInfo.ClientConfig(); err != nil {
			return nil, err
		}
	}
	return clientv3.New(cfg)
}

// Close closes the etcd client.
func (k *KV) Close() error { return k.client.Close() }

func (k *KV) key(name string) string { return k.prefix + name }

// Get reads the current version of object name, linearizably; nil when it does not exist.
func (k *KV) Get(ctx context.Context, name string) (*Stored, error) {
	resp, err := k.client.Get(ctx, k.key(name))
	if err != nil {
		return nil, err
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	return k.decode(ctx, name, resp.Kvs[0].Value, resp.Kvs[0].ModRevision)
}

func (k *KV) decode(ctx context.Context, name string, stored []byte, revision int64) (*Stored, error) {
	data, _, err := k.transformer.TransformFromStorage(ctx, stored, authenticatedData(k.key(name)))
	if err != nil {
		return nil, storage.NewInternalError(err)
	}
	obj, err := runtime.Decode(k.codec, data)
	if err != nil {
		return nil, storage.NewInternalError(fmt.Errorf("decoding %s: %w", k.key(name), err))
	}
	if err := k.versioner.UpdateObject(obj, uint64(revision)); err != nil {
		return nil, err
	}
	return &Stored{Object: obj, value: stored}, nil
}

// Encode makes obj a version to store as object name. obj belongs to the result afterwards.
func (k *KV) Encode(ctx context.Context, name string, obj runtime.Object) (*Stored, error) {
	if err := k.versioner.PrepareObjectForStorage(obj); err != nil {
		return nil, err
	}
	data, err := runtime.Encode(k.codec, obj)
	if err != nil {
		return nil, err
	}
	stored, err := k.transformer.TransformToStorage(ctx, data, authenticatedData(k.key(name)))
	if err != nil {
		return nil, storage.NewInternalError(err)
	}
	return &Stored{Object: obj, value: stored}, nil
}

// Swap is one object of a compare-and-swap write: Prev is the version the write was
// decided on, and Next, unless nil, is the version that replaces it.
type Swap struct {
	Name       string
	Prev, Next *Stored
}

// Swap stores every Next in place of its Prev, all at once, if every Prev is still what is
// stored; otherwise it stores nothing. It reports whether it stored them. A Prev must not be
// nil: Swap never creates an object.
func (k *KV) Swap(ctx context.Context, swaps ...Swap) (bool, error) {
	cmps := make([]clientv3.Cmp, 0, len(swaps))
	ops := make([]clientv3.Op, 0, len(swaps))
	for _, s := range swaps {
		key := k.key(s.Name)
		cmps = append(cmps, clientv3.Compare(clientv3.Value(key), "=", string(s.Prev.value)))
		if s.Next != nil {
			ops = append(ops, clientv3.OpPut(key, string(s.Next.value)))
		}
	}
	resp, err := k.client.Txn(ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return false, err
	}
	return resp.Succeeded, nil
}

type authenticatedData string

func (d authenticatedData) AuthenticatedData() []byte { return []byte(d) }
