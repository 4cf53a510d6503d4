package integration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/spf13/pflag"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/cmd/server"
	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/controlplane"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := core.stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the core API:", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// coreAPI is a real etcd and kube-apiserver with a tenancy-apiserver in this process that
// uses them as its core API: it authenticates and authorizes through kube-apiserver, runs its
// controllers against it, and is called by it as the AccountQuota webhook. It is started by
// the first test that needs it and stopped after the last test of the package.
type coreAPI struct {
	once sync.Once
	err  error

	cp *controlplane.ControlPlane
	// Kube is the admin's client for kube-apiserver.
	Kube kubernetes.Interface
	// Server is the in-process tenancy-apiserver.
	Server *testServer
	// url is the server's https URL.
	url string
	// etcdDir is the data directory of the server's embedded etcd.
	etcdDir string
}

var core coreAPI

// coreFor returns the package's core API, starting it the first time.
func coreFor(t *testing.T) *coreAPI {
	t.Helper()
	core.once.Do(func() { core.err = core.start() })
	if core.err != nil {
		t.Fatalf("starting the core API: %v", core.err)
	}
	return &core
}

func (c *coreAPI) start() (err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if c.cp, err = controlplane.Start(ctx); err != nil {
		return err
	}
	admin, err := c.cp.AdminConfig()
	if err != nil {
		return err
	}
	if c.Kube, err = kubernetes.NewForConfig(admin); err != nil {
		return err
	}
	// The cluster objects of artifacts/deploy: the server's namespace, identity and RBAC, and
	// the tenants' ClusterRoles, as hack/local-up.sh applies them.
	files, err := filepath.Glob(filepath.Join(c.cp.Root, "artifacts", "deploy", "[0-3][0-9]-*.yaml"))
	if err != nil {
		return err
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if err := controlplane.Apply(ctx, admin, data); err != nil {
			return fmt.Errorf("%s: %w", filepath.Base(f), err)
		}
	}

	port, err := controlplane.FreePorts(1)
	if err != nil {
		return err
	}
	c.url = "https://127.0.0.1:" + strconv.Itoa(port[0])
	if c.etcdDir, err = os.MkdirTemp("", "tenancy-integration-etcd-"); err != nil {
		return err
	}
	pki := func(name string) string { return filepath.Join(c.cp.PKI, name) }
	// The flags hack/lib/tenancy-apiserver.sh gives a replica on the local control plane.
	o := server.NewOptions(nil, nil)
	fs := pflag.NewFlagSet("tenancy-apiserver", pflag.ContinueOnError)
	for _, f := range o.Flags().FlagSets {
		fs.AddFlagSet(f)
	}
	if err := fs.Parse([]string{
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port[0]),
		"--tls-cert-file=" + pki("tenancy-apiserver-serving.crt"),
		"--tls-private-key-file=" + pki("tenancy-apiserver-serving.key"),
		"--kubeconfig=" + pki("tenancy-apiserver.kubeconfig"),
		"--authentication-kubeconfig=" + pki("tenancy-apiserver.kubeconfig"),
		"--authorization-kubeconfig=" + pki("tenancy-apiserver.kubeconfig"),
		"--accountquota-webhook-client-ca-file=" + pki("ca.crt"),
		"--accountquota-webhook-client-name=" + controlplane.WebhookCallerName,
		"--admission-control-config-file=" + c.cp.AdmissionConfig,
		"--embedded-etcd-dir=" + c.etcdDir,
		"--embedded-etcd-client-port=0",
		"--embedded-etcd-peer-port=0",
	}); err != nil {
		return err
	}
	if c.Server, err = runServer(o); err != nil {
		return err
	}
	// /readyz answers before the server has loaded the client CAs from kube-apiserver; an
	// authenticated, authorized /metrics shows they are in place.
	direct, err := versioned.NewForConfig(c.As(""))
	if err != nil {
		return err
	}
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := direct.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
		return err == nil, nil
	}); err != nil {
		return fmt.Errorf("the server never accepted the admin's client certificate: %w", err)
	}
	return c.registerWebhook(ctx)
}

// registerWebhook points the AccountQuota webhook of artifacts/deploy at the in-process
// server, as hack/local-up.sh points it at replica 0.
func (c *coreAPI) registerWebhook(ctx context.Context) error {
	data, err := os.ReadFile(filepath.Join(c.cp.Root, "artifacts", "deploy", "70-webhook-accountquota.yaml"))
	if err != nil {
		return err
	}
	var hook admissionregistrationv1.ValidatingWebhookConfiguration
	if err := yaml.UnmarshalStrict(data, &hook); err != nil {
		return fmt.Errorf("70-webhook-accountquota.yaml: %w", err)
	}
	ca, err := os.ReadFile(filepath.Join(c.cp.PKI, "serving-ca.crt"))
	if err != nil {
		return err
	}
	if len(hook.Webhooks) != 1 || hook.Webhooks[0].ClientConfig.Service == nil || hook.Webhooks[0].ClientConfig.Service.Path == nil {
		return errors.New("70-webhook-accountquota.yaml: expected one webhook on a Service path")
	}
	url := c.url + *hook.Webhooks[0].ClientConfig.Service.Path
	hook.Webhooks[0].ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: ca}
	_, err = c.Kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(ctx, &hook, metav1.CreateOptions{})
	return err
}

// As is a client configuration for the in-process server with the admin's client
// certificate, impersonating user when it is not empty. The server verifies the certificate
// with the client CA it reads from kube-apiserver and asks kube-apiserver whether the admin
// may impersonate.
func (c *coreAPI) As(user string, groups ...string) *rest.Config {
	cfg := &rest.Config{
		Host: c.url,
		TLSClientConfig: rest.TLSClientConfig{
			CAFile:   filepath.Join(c.cp.PKI, "serving-ca.crt"),
			CertFile: filepath.Join(c.cp.PKI, "admin.crt"),
			KeyFile:  filepath.Join(c.cp.PKI, "admin.key"),
		},
		QPS: 100, Burst: 200,
		Timeout: time.Minute,
	}
	if user != "" {
		cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	}
	return cfg
}

// stop stops the server and the control plane, when they were started.
func (c *coreAPI) stop() error {
	var errs []error
	if c.Server != nil {
		errs = append(errs, c.Server.stop())
	}
	if c.cp != nil {
		errs = append(errs, c.cp.Stop())
	}
	if c.etcdDir != "" {
		errs = append(errs, os.RemoveAll(c.etcdDir))
	}
	return errors.Join(errs...)
}
