package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	configv1alpha1 "github.com/tenancy-apiserver/tenancy-apiserver/pkg/apis/config/v1alpha1"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// The member cluster of the hub tests: a second local control plane, started on first use
// and stopped with the suite, in MEMBER_LOCAL_DIR (default: next to the hub's directory). Its
// ports follow from the hub's (framework.Cluster.SecondPlane: plus PLANE_OFFSET, default
// 1000, and its OIDC issuer on the hub's issuer's port plus 1).
var (
	memberOnce    sync.Once
	memberCluster *framework.Cluster
	memberErr     error
)

// member returns the member cluster, starting it on first use.
func member(t testing.TB) *framework.Cluster {
	t.Helper()
	memberOnce.Do(func() {
		dir := os.Getenv("MEMBER_LOCAL_DIR")
		if dir == "" {
			dir = cluster.Dir + "-member"
		}
		memberCluster, memberErr = cluster.SecondPlane(context.Background(), dir,
			framework.Options{Keep: os.Getenv("E2E_KEEP") == "1"})
	})
	if memberErr != nil {
		t.Fatalf("the member control plane is not available: %v", memberErr)
	}
	return memberCluster
}

// teardownMember stops the member control plane if the suite started it.
func teardownMember() error {
	if memberCluster == nil {
		return nil
	}
	return memberCluster.Teardown(os.Stderr)
}

// joinMember registers the member with the hub as Cluster name, the way docs/multicluster.md
// says: the RBAC of artifacts/multicluster/member-rbac.yaml in the member, a token of its
// ServiceAccount in a Secret of the hub, and the Cluster. It waits until the hub reaches the
// member's tenancy-apiserver, and removes the Cluster and Secret when the test ends.
func joinMember(t testing.TB, m *framework.Cluster, name string) {
	t.Helper()
	ctx := context.Background()
	m.Admin().Run(t, "apply", "-f", filepath.Join(cluster.Root, "artifacts", "multicluster", "member-rbac.yaml")).Success(t)
	seconds := int64(3600)
	tr, err := m.AdminClients(t).Kube.CoreV1().ServiceAccounts("kube-system").CreateToken(ctx, "tenancy-hub",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds}}, metav1.CreateOptions{})
	require.NoError(t, err)
	server, ca := kubeconfigServer(t, m.Kubeconfig)

	admin := cluster.AdminClients(t)
	secret := "cluster-" + name
	_, err = admin.Kube.CoreV1().Secrets("kube-system").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: secret},
		Data:       map[string][]byte{"token": []byte(tr.Status.Token), "ca.crt": ca},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	t.Cleanup(func() {
		deleted(t, "Secret "+secret, admin.Kube.CoreV1().Secrets("kube-system").Delete(ctx, secret, metav1.DeleteOptions{}))
	})
	cluster.Admin().Apply(t, fmt.Sprintf(`apiVersion: config.kiosk.sh/v1alpha1
kind: Cluster
metadata:
  name: %s
spec:
  server: %s
  credentialsSecret:
    namespace: kube-system
    name: %s
`, name, server, secret)).Success(t)
	t.Cleanup(func() {
		deleted(t, "Cluster "+name, admin.Kiosk.ConfigV1alpha1().Clusters().Delete(ctx, name, metav1.DeleteOptions{}))
	})
	waitClusterStatus(t, name, func(s configv1alpha1.ClusterStatus) bool { return s.Reachable && s.TenancyAPIServer })
}

// waitClusterStatus waits until the hub's Cluster name has a status for which ok holds.
func waitClusterStatus(t testing.TB, name string, ok func(configv1alpha1.ClusterStatus) bool) configv1alpha1.Cluster {
	t.Helper()
	clusters := cluster.AdminClients(t).Kiosk.ConfigV1alpha1().Clusters()
	var last configv1alpha1.Cluster
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		c, err := clusters.Get(context.Background(), name, metav1.GetOptions{})
		if err == nil {
			last = *c
			if ok(c.Status) {
				return *c
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("Cluster %s never reached the status wanted; last: %+v", name, last.Status)
	return last
}

// kubeconfigServer is the server URL and CA of the current context of a kubeconfig.
func kubeconfigServer(t testing.TB, path string) (string, []byte) {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(path)
	require.NoError(t, err)
	c := cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster]
	require.NotNil(t, c, "the cluster of the current context of %s", path)
	ca := c.CertificateAuthorityData
	if len(ca) == 0 && c.CertificateAuthority != "" {
		ca, err = os.ReadFile(c.CertificateAuthority)
		require.NoError(t, err)
	}
	return c.Server, ca
}

// clientcmdConfig loads the client configuration of a kubeconfig file.
func clientcmdConfig(path string) (*rest.Config, error) {
	return clientcmd.BuildConfigFromFlags("", path)
}

// rawGet sends GET path with cfg's credentials and extra headers, and returns the status and
// body.
func rawGet(t *testing.T, cfg *rest.Config, path string, headers map[string]string) (int, string) {
	t.Helper()
	client, err := rest.HTTPClientFor(cfg)
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodGet, cfg.Host+path, nil)
	require.NoError(t, err)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}
