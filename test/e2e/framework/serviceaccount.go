package framework

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ServiceAccountKubeconfig mints a token for the ServiceAccount namespace/name with the
// TokenRequest API of kube-apiserver, valid for expiry, and writes a kubeconfig for
// kube-apiserver that authenticates with it (and nothing else) into a directory of the test.
// It returns the kubeconfig's path.
func (c *Cluster) ServiceAccountKubeconfig(t testing.TB, namespace, name string, expiry time.Duration) string {
	t.Helper()
	seconds := int64(expiry / time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tr, err := c.AdminClients(t).Kube.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds}},
		metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for ServiceAccount %s/%s: %v", namespace, name, err)
	}
	admin, err := clientcmd.LoadFromFile(c.Kubeconfig)
	if err != nil {
		t.Fatalf("loading %s: %v", c.Kubeconfig, err)
	}
	adminContext, ok := admin.Contexts[admin.CurrentContext]
	if !ok || admin.Clusters[adminContext.Cluster] == nil {
		t.Fatalf("%s: no cluster for the current context %q", c.Kubeconfig, admin.CurrentContext)
	}
	user := "system:serviceaccount:" + namespace + ":" + name
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = admin.Clusters[adminContext.Cluster]
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts[user] = &clientcmdapi.Context{Cluster: "local", AuthInfo: user}
	cfg.CurrentContext = user
	path := filepath.Join(t.TempDir(), name+".kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatalf("writing %s: %v", path, err)
	}
	return path
}
