// Package scenarios measures tenancy-apiserver on a running local control plane
// (hack/local-up.sh) against the floor kube-apiserver itself sets: every figure is reported
// as a ratio to a baseline taken in the same run, interleaved with what it is compared to.
//
// The scenarios are run by hack/scenarios (make scenario-list, scenario-watch,
// scenario-admission, scenario-restart); the end-to-end suite runs small versions of the list
// and watch scenarios for their correctness alone.
package scenarios

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/generated/clientset/versioned"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/localenv"
)

// Env is a running local control plane, as hack/local-up.sh recorded it in its directory.
type Env struct {
	// Dir is the control plane's directory (LOCAL_DIR): env, pki, pids, logs.
	Dir string
	// Root is the repository root, for hack/lib/tenancy-apiserver.sh.
	Root string
	// Settings holds what local-up.sh saved in Dir/env.
	Settings map[string]string
	// Log receives progress lines.
	Log io.Writer

	admin *rest.Config
}

// NewEnv reads the control plane recorded in dir.
func NewEnv(root, dir string, log io.Writer) (*Env, error) {
	settings, err := localenv.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("no local control plane in %s (run make local-up): %w", dir, err)
	}
	admin, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, "kubeconfig"))
	if err != nil {
		return nil, fmt.Errorf("loading the admin kubeconfig: %w", err)
	}
	// The scenarios time requests one by one and must not be slowed by the client's limiter.
	admin.QPS, admin.Burst = -1, 0
	admin.Timeout = 2 * time.Minute
	admin.UserAgent = "tenancy-scenarios"
	return &Env{Dir: dir, Root: root, Settings: settings, Log: log, admin: admin}, nil
}

// Admin is a client configuration for kube-apiserver as the admin (system:masters).
func (e *Env) Admin() *rest.Config { return rest.CopyConfig(e.admin) }

// As is a client configuration for kube-apiserver that impersonates user, who then also
// belongs to system:authenticated.
func (e *Env) As(user string) *rest.Config {
	cfg := e.Admin()
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	return cfg
}

// Kube is the admin's client of kube-apiserver.
func (e *Env) Kube() kubernetes.Interface { return kubernetes.NewForConfigOrDie(e.Admin()) }

// Kiosk is the admin's client of the kiosk groups, through kube-apiserver.
func (e *Env) Kiosk() versioned.Interface { return versioned.NewForConfigOrDie(e.Admin()) }

// Logf writes one progress line.
func (e *Env) Logf(format string, args ...any) {
	if e.Log != nil {
		fmt.Fprintf(e.Log, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
}

// PID is the process ID local-up.sh recorded for name ("tenancy-apiserver-0",
// "kube-apiserver"), or 0.
func (e *Env) PID(name string) int {
	b, err := os.ReadFile(filepath.Join(e.Dir, "pids", name+".pid"))
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 0
	}
	pid, _ := strconv.Atoi(fields[0])
	return pid
}

// ServerURL is replica 0's own address, past kube-apiserver.
func (e *Env) ServerURL() string { return "https://127.0.0.1:" + e.Settings["TENANCY_PORT"] }

// ServerClient reaches replica 0 directly with the admin's client certificate, for its
// /readyz, /metrics and /debug/pprof.
func (e *Env) ServerClient() (*http.Client, error) {
	pki := filepath.Join(e.Dir, "pki")
	ca, err := os.ReadFile(filepath.Join(pki, "serving-ca.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("%s holds no certificate", filepath.Join(pki, "serving-ca.crt"))
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(pki, "admin.crt"), filepath.Join(pki, "admin.key"))
	if err != nil {
		return nil, err
	}
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}}, nil
}

// ServerGet reads path from replica 0 directly.
func (e *Env) ServerGet(ctx context.Context, path string) ([]byte, error) {
	client, err := e.ServerClient()
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.ServerURL()+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", path, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}
