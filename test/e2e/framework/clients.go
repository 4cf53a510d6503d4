package framework

import (
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
)

// Config is a client configuration for kube-apiserver as the admin (system:masters).
func (c *Cluster) Config(t testing.TB) *rest.Config {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		t.Fatalf("loading %s: %v", c.Kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	cfg.Timeout = time.Minute
	cfg.UserAgent = "tenancy-e2e"
	return cfg
}

// ConfigAs is a client configuration for kube-apiserver that impersonates user in groups.
func (c *Cluster) ConfigAs(t testing.TB, user string, groups ...string) *rest.Config {
	t.Helper()
	cfg := c.Config(t)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	return cfg
}

// Clients bundles the client-go clients for one identity.
type Clients struct {
	Config  *rest.Config
	Kube    kubernetes.Interface
	Kiosk   versioned.Interface
	Dynamic dynamic.Interface
}

// NewClients builds every client for cfg.
func NewClients(t testing.TB, cfg *rest.Config) Clients {
	t.Helper()
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("kubernetes client: %v", err)
	}
	kiosk, err := versioned.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("kiosk client: %v", err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("dynamic client: %v", err)
	}
	return Clients{Config: cfg, Kube: kube, Kiosk: kiosk, Dynamic: dyn}
}

// AdminClients are the admin's clients, through kube-apiserver.
func (c *Cluster) AdminClients(t testing.TB) Clients {
	t.Helper()
	return NewClients(t, c.Config(t))
}

// ClientsAs are clients that impersonate user in groups, through kube-apiserver.
func (c *Cluster) ClientsAs(t testing.TB, user string, groups ...string) Clients {
	t.Helper()
	return NewClients(t, c.ConfigAs(t, user, groups...))
}

// replicaConfig reaches one tenancy-apiserver directly, bypassing kube-apiserver: it trusts the
// local serving CA and authenticates with the admin's client certificate, which the server
// accepts through the client CA it reads from kube-apiserver.
func (c *Cluster) replicaConfig(url string) *rest.Config {
	pki := filepath.Join(c.Dir, "pki")
	return &rest.Config{
		Host: url,
		TLSClientConfig: rest.TLSClientConfig{
			CAFile:   filepath.Join(pki, "serving-ca.crt"),
			CertFile: filepath.Join(pki, "admin.crt"),
			KeyFile:  filepath.Join(pki, "admin.key"),
		},
		QPS: 100, Burst: 200,
		Timeout:   time.Minute,
		UserAgent: "tenancy-e2e",
	}
}
