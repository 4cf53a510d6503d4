package raw_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/generic"
	"k8s.io/apiserver/pkg/storage"
	"k8s.io/apiserver/pkg/storage/etcd3/testserver"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config"
	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/raw"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/registry/registrytest"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/scheme"
)

func newAccount() runtime.Object     { return &config.Account{} }
func newAccountList() runtime.Object { return &config.AccountList{} }

// selfSigned writes a self-signed CA certificate for localhost, which also serves as the
// server's and the client's certificate, and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	ca, err := cert.NewSelfSignedCACert(cert.Config{CommonName: "localhost"}, key)
	require.NoError(t, err)
	certPEM, err := cert.EncodeCertificates(ca)
	require.NoError(t, err)
	keyPEM, err := keyutil.MarshalPrivateKeyToPEM(key)
	require.NoError(t, err)
	certFile, keyFile = filepath.Join(dir, "etcd.crt"), filepath.Join(dir, "etcd.key")
	require.NoError(t, os.WriteFile(certFile, certPEM, 0o600))
	require.NoError(t, os.WriteFile(keyFile, keyPEM, 0o600))
	return certFile, keyFile
}

// tlsEtcd starts an etcd that serves clients over TLS only and asks for their
// certificates, as production etcd does, and returns its URL and the certificate files.
func tlsEtcd(t *testing.T) (serverURL, certFile, keyFile string) {
	certFile, keyFile = selfSigned(t, t.TempDir())
	cfg := testserver.NewTestConfig(t)
	for i := range cfg.ListenClientUrls {
		cfg.ListenClientUrls[i].Scheme = "https"
	}
	cfg.AdvertiseClientUrls = cfg.ListenClientUrls
	cfg.ClientTLSInfo = transport.TLSInfo{CertFile: certFile, KeyFile: keyFile, TrustedCAFile: certFile, ClientCertAuth: true}
	testserver.RunEtcd(t, cfg)
	u := url.URL(cfg.ListenClientUrls[0])
	return u.String(), certFile, keyFile
}

func options(serverURL string, tc storagebackend.TransportConfig) generic.RESTOptions {
	tc.ServerList = []string{serverURL}
	sc := storagebackend.Config{
		Type:      storagebackend.StorageTypeETCD3,
		Prefix:    "/registry",
		Transport: tc,
		Codec:     scheme.Codecs.LegacyCodec(configv1alpha1.SchemeGroupVersion),
	}
	return generic.RESTOptions{StorageConfig: sc.ForResource(config.Resource("accounts")),
		Decorator: generic.UndecoratedStorage, ResourcePrefix: "accounts"}
}

func TestKVReadsAndSwapsWhatTheStorageWrote(t *testing.T) {
	getter := registrytest.Getter{Options: registrytest.RESTOptions(t, "accounts")}
	kvAndStorage(t, getter, nil)
}

func TestKVThroughAnInProcessClient(t *testing.T) {
	etcd := registrytest.StartEtcd(t, false)
	kvAndStorage(t, registrytest.Getter{Options: etcd.Options("accounts")}, etcd.Client())
}

func TestKVSpeaksTLSToEtcd(t *testing.T) {
	serverURL, certFile, keyFile := tlsEtcd(t)
	kvAndStorage(t, registrytest.Getter{Options: options(serverURL,
		storagebackend.TransportConfig{CertFile: certFile, KeyFile: keyFile, TrustedCAFile: certFile})}, nil)

	// Without a client certificate etcd answers nothing.
	kv, err := raw.OpenKV(registrytest.Getter{Options: options(serverURL,
		storagebackend.TransportConfig{TrustedCAFile: certFile})}, "accounts", newAccount, nil)
	require.NoError(t, err)
	defer kv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = kv.Get(ctx, "a")
	assert.Error(t, err)
}

// kvAndStorage writes an object through the storage the API uses, then reads and replaces
// it through a KV, and reads the result back through the storage.
func kvAndStorage(t *testing.T, getter registrytest.Getter, client *clientv3.Client) {
	t.Helper()
	ctx := context.Background()
	s, err := raw.Open(getter, "accounts", newAccount, newAccountList)
	require.NoError(t, err)
	defer s.Destroy()
	in := &config.Account{ObjectMeta: metav1.ObjectMeta{Name: "a"}}
	require.NoError(t, s.Create(ctx, s.Prefix+"/a", in, &config.Account{}, 0))

	kv, err := raw.OpenKV(getter, "accounts", newAccount, client)
	require.NoError(t, err)
	defer kv.Close()
	prev, err := kv.Get(ctx, "a")
	require.NoError(t, err)
	require.NotNil(t, prev)
	assert.Equal(t, "a", prev.Object.(*config.Account).Name)
	assert.NotEmpty(t, prev.Object.(*config.Account).ResourceVersion)

	changed := prev.Object.(*config.Account).DeepCopy()
	changed.Labels = map[string]string{"written": "by-kv"}
	next, err := kv.Encode(ctx, "a", changed)
	require.NoError(t, err)
	stored, err := kv.Swap(ctx, raw.Swap{Name: "a", Prev: prev, Next: next})
	require.NoError(t, err)
	require.True(t, stored)
	stored, err = kv.Swap(ctx, raw.Swap{Name: "a", Prev: prev, Next: next})
	require.NoError(t, err)
	assert.False(t, stored, "a swap from a version no longer stored")

	out := &config.Account{}
	require.NoError(t, s.Get(ctx, s.Prefix+"/a", storage.GetOptions{}, out))
	assert.Equal(t, "by-kv", out.Labels["written"])
	missing, err := kv.Get(ctx, "b")
	require.NoError(t, err)
	assert.Nil(t, missing)
}
