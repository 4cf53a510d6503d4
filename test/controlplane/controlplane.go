// Package controlplane runs etcd, kube-apiserver and kube-controller-manager from
// _output/bin (make controlplane) on free loopback ports, with the certificates
// hack/localcerts writes, the kube-apiserver flags of hack/local-up.sh and the local OIDC
// issuer of hack/oidc that kube-apiserver trusts, so that tests
// below the end-to-end suite talk to a real core API. kube-controller-manager runs only the
// controllers RBAC and Pods need: ClusterRole aggregation (admin, edit, view and the roles of
// artifacts/deploy are aggregated) and the ServiceAccount controller (each namespace's
// default ServiceAccount). Nothing deletes namespaces, schedules Pods or collects garbage.
package controlplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Names the certificates of hack/localcerts give the clients, as kube-apiserver sees them.
const (
	// WebhookCallerName is the name kube-apiserver presents to admission webhooks.
	WebhookCallerName = "tenancy-accountquota-webhook-caller"
	// ServiceCIDR is kube-apiserver's --service-cluster-ip-range.
	ServiceCIDR = "10.96.0.0/12"
	// ServiceIP is the kubernetes Service's ClusterIP in ServiceCIDR.
	ServiceIP = "10.96.0.1"
)

// ControlPlane is a running etcd and kube-apiserver.
type ControlPlane struct {
	// Root is the repository root.
	Root string
	// Dir holds the data, certificates, kubeconfigs and logs; Stop removes it.
	Dir string
	// PKI is the directory of the certificates and keys (hack/localcerts --dir).
	PKI string
	// Kubeconfig is the admin kubeconfig (system:masters).
	Kubeconfig string
	// AdmissionConfig is kube-apiserver's admission configuration: it calls webhooks with the
	// client certificate named WebhookCallerName.
	AdmissionConfig string
	// URL is kube-apiserver's https URL.
	URL string
	// OIDCIssuerURL is the local OIDC issuer's URL (hack/oidc), which kube-apiserver's
	// AuthenticationConfiguration trusts; OIDCToken mints its tokens.
	OIDCIssuerURL string

	procs []*process
	// oidcIssuer is the built hack/oidc binary.
	oidcIssuer string
}

// Start runs etcd, kube-apiserver and kube-controller-manager and waits until kube-apiserver
// is ready and the built-in ClusterRoles are aggregated. On an error
// nothing is left running.
func Start(ctx context.Context) (_ *ControlPlane, err error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	bin := os.Getenv("OUTPUT_BIN")
	if bin == "" {
		bin = filepath.Join(root, "_output", "bin")
	}
	for _, name := range []string{"etcd", "kube-apiserver", "kube-controller-manager"} {
		if _, err := os.Stat(filepath.Join(bin, name)); err != nil {
			return nil, fmt.Errorf("%s is missing from %s (make controlplane builds it): %w", name, bin, err)
		}
	}
	dir, err := os.MkdirTemp("", "tenancy-controlplane-")
	if err != nil {
		return nil, fmt.Errorf("creating the control plane's directory: %w", err)
	}
	c := &ControlPlane{Root: root, Dir: dir, PKI: filepath.Join(dir, "pki"), Kubeconfig: filepath.Join(dir, "kubeconfig")}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.Stop())
		}
	}()
	ports, err := FreePorts(4)
	if err != nil {
		return nil, err
	}
	etcdPort, peerPort, apiPort, oidcAddr := ports[0], ports[1], ports[2], "127.0.0.1:"+strconv.Itoa(ports[3])
	c.URL = "https://127.0.0.1:" + strconv.Itoa(apiPort)
	c.OIDCIssuerURL = "https://" + oidcAddr
	if err := c.certificates(ctx); err != nil {
		return nil, err
	}
	logs := filepath.Join(dir, "logs")

	client, peer := "http://127.0.0.1:"+strconv.Itoa(etcdPort), "http://127.0.0.1:"+strconv.Itoa(peerPort)
	etcd, err := startProcess("etcd", logs, filepath.Join(bin, "etcd"), "--name=local",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+client, "--advertise-client-urls="+client,
		"--listen-peer-urls="+peer, "--initial-advertise-peer-urls="+peer,
		"--initial-cluster=local="+peer, "--log-level=warn")
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, etcd)
	if err := waitReady(ctx, etcd, time.Minute, func(ctx context.Context) bool {
		return etcdReady(ctx, client+"/readyz")
	}); err != nil {
		return nil, err
	}

	// Before kube-apiserver, whose JWT authenticator reads the issuer's discovery as it starts.
	if err := c.startOIDCIssuer(ctx, logs, oidcAddr); err != nil {
		return nil, err
	}
	pki := func(name string) string { return filepath.Join(c.PKI, name) }
	flags, err := kubeAPIServerFlags(root, map[string]string{
		"port": strconv.Itoa(apiPort), "etcd": client, "pki": c.PKI,
		"admission-config": c.AdmissionConfig, "service-cidr": ServiceCIDR,
		"authentication-config": c.authenticationConfig(),
	})
	if err != nil {
		return nil, err
	}
	flags = append(flags, "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none")
	api, err := startProcess("kube-apiserver", logs, filepath.Join(bin, "kube-apiserver"), flags...)
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, api)
	admin, err := c.AdminConfig()
	if err != nil {
		return nil, err
	}
	kube, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return nil, fmt.Errorf("kube-apiserver client: %w", err)
	}
	if err := waitReady(ctx, api, 3*time.Minute, func(ctx context.Context) bool {
		body, err := kube.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(body) == "ok"
	}); err != nil {
		return nil, err
	}
	if err := c.waitOIDCTrusted(ctx, api); err != nil {
		return nil, err
	}

	kcm, err := startProcess("kube-controller-manager", logs, filepath.Join(bin, "kube-controller-manager"),
		"--kubeconfig="+pki("kube-controller-manager.kubeconfig"),
		"--secure-port=0",
		"--controllers=clusterrole-aggregation-controller,serviceaccount-controller,serviceaccount-token-controller",
		"--root-ca-file="+pki("ca.crt"),
		"--service-account-private-key-file="+pki("sa.key"),
		"--use-service-account-credentials=true",
		"--leader-elect=false",
		"--profiling=false")
	if err != nil {
		return nil, err
	}
	c.procs = append(c.procs, kcm)
	// The bootstrap admin role has no rules of its own: they come from aggregation.
	if err := waitReady(ctx, kcm, time.Minute, func(ctx context.Context) bool {
		admin, err := kube.RbacV1().ClusterRoles().Get(ctx, "admin", metav1.GetOptions{})
		return err == nil && len(admin.Rules) > 0
	}); err != nil {
		return nil, err
	}
	return c, nil
}

// Stop stops the processes in the reverse order of their start and removes Dir. Set KEEP_CONTROLPLANE=1 to keep Dir
// (its logs) for a look after a failure.
func (c *ControlPlane) Stop() error {
	var errs []error
	for i := len(c.procs) - 1; i >= 0; i-- {
		errs = append(errs, c.procs[i].stop(30*time.Second))
	}
	c.procs = nil
	if os.Getenv("KEEP_CONTROLPLANE") == "1" {
		fmt.Fprintf(os.Stderr, "controlplane: keeping %s\n", c.Dir)
	} else if err := os.RemoveAll(c.Dir); err != nil {
		errs = append(errs, fmt.Errorf("removing %s: %w", c.Dir, err))
	}
	return errors.Join(errs...)
}

// AdminConfig is a client configuration for kube-apiserver as the admin (system:masters).
func (c *ControlPlane) AdminConfig() (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("loading %s: %w", c.Kubeconfig, err)
	}
	cfg.QPS, cfg.Burst = 100, 200
	cfg.Timeout = time.Minute
	return cfg, nil
}

// certificates builds hack/localcerts, as hack/local-up.sh does, and runs it for the
// certificates, the kubeconfigs and kube-apiserver's admission configuration.
func (c *ControlPlane) certificates(ctx context.Context) error {
	localcerts := filepath.Join(c.Dir, "localcerts")
	build := exec.CommandContext(ctx, "go", "build", "-o", localcerts, "./hack/localcerts")
	build.Dir = c.Root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building hack/localcerts: %w: %s", err, out)
	}
	c.AdmissionConfig = filepath.Join(c.Dir, "admission.yaml")
	run := exec.CommandContext(ctx, localcerts, "--dir="+c.PKI, "--server="+c.URL,
		"--admin-kubeconfig="+c.Kubeconfig, "--admission-config="+c.AdmissionConfig, "--service-ip="+ServiceIP,
		"--authentication-config="+c.authenticationConfig(), "--oidc-issuer-url="+c.OIDCIssuerURL, "--oidc-audience="+OIDCAudience)
	if out, err := run.CombinedOutput(); err != nil {
		return fmt.Errorf("hack/localcerts: %w: %s", err, out)
	}
	return nil
}

// authenticationConfig is kube-apiserver's AuthenticationConfiguration, which trusts the local
// OIDC issuer.
func (c *ControlPlane) authenticationConfig() string {
	return filepath.Join(c.Dir, "authentication.yaml")
}

// waitReady polls ready until it holds, giving up at once when p exits.
func waitReady(ctx context.Context, p *process, timeout time.Duration, ready func(context.Context) bool) error {
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if err := p.running(); err != nil {
			return false, err
		}
		return ready(ctx), nil
	})
	if err != nil {
		return fmt.Errorf("%s did not become ready: %w; last lines of %s:\n%s", p.name, err, p.log, p.tail(30))
	}
	return nil
}

func etcdReady(ctx context.Context, url string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	return err == nil && resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "ok"
}

// FreePorts returns n distinct loopback ports that were free a moment ago: each is listened
// on, and all are closed together, so none is handed out twice.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		defer func() { _ = l.Close() }()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// RepoRoot is the directory of go.mod above the working directory.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
