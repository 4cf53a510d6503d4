package hub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/transport"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	configlisters "github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/listers/config/v1alpha1"
)

// Secret keys of a Cluster's credentialsSecret.
const (
	TokenKey = "token"
	CertKey  = corev1.TLSCertKey
	KeyKey   = corev1.TLSPrivateKeyKey
	CAKey    = "ca.crt"
)

// credentialsTTL is how long the credentials read from a Cluster's Secret are used before
// the Secret is read again.
const credentialsTTL = 30 * time.Second

// ErrNoCluster is the error of a cluster name that names no Cluster.
var ErrNoCluster = errors.New("no such cluster")

// SecretGetter reads a Secret of the hub's cluster.
type SecretGetter func(ctx context.Context, namespace, name string) (*corev1.Secret, error)

// Members are the member clusters of the hub, from the Cluster objects, and the hub's client
// configurations for them.
type Members struct {
	clusters configlisters.ClusterLister
	secrets  SecretGetter
	now      func() time.Time

	mu    sync.Mutex
	cache map[string]cachedConfig
}

type cachedConfig struct {
	generation int64
	uid        string
	read       time.Time
	config     *rest.Config
	// transport carries the hub's credentials to the member. Held here, it keeps its
	// connections from one request to the next: a transport that no client holds is
	// collected, and its TLS connections with it.
	transport http.RoundTripper
}

// NewMembers returns the members named by the Cluster objects of lister, whose credentials
// secrets reads.
func NewMembers(lister configlisters.ClusterLister, secrets SecretGetter) *Members {
	return &Members{clusters: lister, secrets: secrets, now: time.Now, cache: map[string]cachedConfig{}}
}

// Names are the names of the member clusters, sorted.
func (m *Members) Names() []string {
	if m == nil {
		return nil
	}
	clusters, err := m.clusters.List(labels.Everything())
	if err != nil {
		return nil
	}
	names := make([]string, 0, len(clusters))
	for _, c := range clusters {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	return names
}

// Has reports whether name is a member cluster.
func (m *Members) Has(name string) bool {
	if m == nil || name == "" {
		return false
	}
	_, err := m.clusters.Get(name)
	return err == nil
}

// Server is the URL of member name's kube-apiserver, or "" when it is no member.
func (m *Members) Server(name string) string {
	if m == nil {
		return ""
	}
	c, err := m.clusters.Get(name)
	if err != nil {
		return ""
	}
	return c.Spec.Server
}

// Version identifies member name's Cluster object as it is now, its UID and generation, or
// is "" when it is no member: a view made for one version is not used for another.
func (m *Members) Version(name string) string {
	if m == nil {
		return ""
	}
	c, err := m.clusters.Get(name)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%s/%d", c.UID, c.Generation)
}

// Config is the hub's own client configuration for member name, with its credentials.
func (m *Members) Config(ctx context.Context, name string) (*rest.Config, error) {
	cfg, _, err := m.Transport(ctx, name)
	return cfg, err
}

// Transport is Config and a transport for it that every request to member name shares:
// wrap it for the caller (As, AsClient) rather than building a client from the Config.
func (m *Members) Transport(ctx context.Context, name string) (*rest.Config, http.RoundTripper, error) {
	if m == nil {
		return nil, nil, ErrNoCluster
	}
	c, err := m.clusters.Get(name)
	if apierrors.IsNotFound(err) {
		return nil, nil, ErrNoCluster
	}
	if err != nil {
		return nil, nil, err
	}
	m.mu.Lock()
	cached, ok := m.cache[name]
	m.mu.Unlock()
	if ok && cached.uid == string(c.UID) && cached.generation == c.Generation && m.now().Sub(cached.read) < credentialsTTL {
		return rest.CopyConfig(cached.config), cached.transport, nil
	}
	cfg, err := ConfigFor(ctx, c, m.secrets)
	if err != nil {
		return nil, nil, err
	}
	rt := cached.transport
	if !ok || !sameCredentials(cached.config, cfg) {
		if rt, err = rest.TransportFor(cfg); err != nil {
			return nil, nil, fmt.Errorf("the transport to cluster %q: %w", name, err)
		}
	}
	m.mu.Lock()
	m.cache[name] = cachedConfig{generation: c.Generation, uid: string(c.UID), read: m.now(), config: cfg, transport: rt}
	m.mu.Unlock()
	return rest.CopyConfig(cfg), rt, nil
}

// sameCredentials reports whether a and b reach the same server with the same credentials.
func sameCredentials(a, b *rest.Config) bool {
	return a.Host == b.Host && a.BearerToken == b.BearerToken && bytes.Equal(a.CAData, b.CAData) &&
		bytes.Equal(a.CertData, b.CertData) && bytes.Equal(a.KeyData, b.KeyData)
}

// AsClient is an HTTP client for member requests of user u over the member's shared
// transport rt, impersonating u as As does; timeout bounds each request (0: none, for
// watches).
func AsClient(rt http.RoundTripper, u user.Info, timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: transport.NewImpersonatingRoundTripper(transport.ImpersonationConfig{
		UserName: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups(), Extra: u.GetExtra(),
	}, rt)}
}

// ConfigFor builds the hub's client configuration for Cluster c from its Secret.
func ConfigFor(ctx context.Context, c *configv1alpha1.Cluster, secrets SecretGetter) (*rest.Config, error) {
	ref := c.Spec.CredentialsSecret
	secret, err := secrets(ctx, ref.Namespace, ref.Name)
	if err != nil {
		return nil, fmt.Errorf("reading the credentials Secret %s/%s of cluster %q: %w", ref.Namespace, ref.Name, c.Name, err)
	}
	cfg := &rest.Config{
		Host:      c.Spec.Server,
		UserAgent: "tenancy-apiserver-hub",
		// The hub speaks for many callers at once: the member's own priority and fairness
		// limits them, not a client-side rate limit shared by all.
		QPS:     -1,
		Timeout: 30 * time.Second,
	}
	cfg.CAData = c.Spec.CABundle
	if len(cfg.CAData) == 0 {
		cfg.CAData = secret.Data[CAKey]
	}
	token, cert, key := secret.Data[TokenKey], secret.Data[CertKey], secret.Data[KeyKey]
	switch {
	case len(token) > 0:
		cfg.BearerToken = string(token)
	case len(cert) > 0 && len(key) > 0:
		cfg.CertData, cfg.KeyData = cert, key
	default:
		return nil, fmt.Errorf("the credentials Secret %s/%s of cluster %q has neither %q nor %q and %q",
			ref.Namespace, ref.Name, c.Name, TokenKey, CertKey, KeyKey)
	}
	return cfg, nil
}

// As returns cfg impersonating u: its name, groups and extras, and nothing else. Whatever
// impersonation headers the caller sent the hub were consumed by the hub's kube-apiserver,
// which authenticated u; the member sees the same identity and its RBAC decides.
func As(cfg *rest.Config, u user.Info) *rest.Config {
	out := rest.CopyConfig(cfg)
	out.Impersonate = rest.ImpersonationConfig{
		UserName: u.GetName(),
		UID:      u.GetUID(),
		Groups:   u.GetGroups(),
		Extra:    u.GetExtra(),
	}
	return out
}
