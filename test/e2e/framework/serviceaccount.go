package framework

import (
	"context"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	return c.credentialKubeconfig(t, "system:serviceaccount:"+namespace+":"+name, &clientcmdapi.AuthInfo{Token: tr.Status.Token})
}
