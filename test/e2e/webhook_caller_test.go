package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenancy-apiserver/tenancy-apiserver/pkg/admission/accountquota"
	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// Only kube-apiserver, with the client certificate its admission configuration gives it for
// webhooks, may make the AccountQuota webhook charge: a fake AdmissionReview sent straight to
// the server by anyone else, with no certificate or another one, is refused before it counts.
func TestAccountQuotaWebhookAnswersOnlyKubeAPIServer(t *testing.T) {
	account := framework.UniqueName("caller")
	admin := cluster.Admin()
	admin.Apply(t, accountYAML(account, "caller-user", "")).Success(t)
	admin.Apply(t, fmt.Sprintf(`apiVersion: config.kiosk.sh/v1alpha1
kind: AccountQuota
metadata:
  name: %[1]s
spec:
  account: %[1]s
  quota:
    hard:
      pods: "1"
`, account)).Success(t)
	admin.Run(t, "create", "namespace", account).Success(t)
	admin.Run(t, "label", "namespace", account, "kiosk.sh/account="+account).Success(t)
	t.Cleanup(func() {
		admin.Run(t, "delete", "namespace", account, "--wait=false").Deleted(t)
		admin.Run(t, "delete", "accountquotas.config.kiosk.sh", account, "--ignore-not-found").Deleted(t)
		admin.Run(t, "delete", "accounts.config.kiosk.sh", account, "--ignore-not-found").Deleted(t)
	})
	eventually(t, "the namespace is a Space and the quota is counted", func(context.Context) bool {
		return admin.Run(t, "get", "space", account).Err == nil &&
			admin.Run(t, "get", "accountquota", account, "-o", "jsonpath={.status.total.hard.pods}").Stdout == "1"
	})

	review := []byte(fmt.Sprintf(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"fake",
"kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},
"namespace":%q,"operation":"CREATE","object":{"apiVersion":"v1","kind":"Pod","metadata":{"name":"fake"},
"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}`, account))
	for range 3 {
		code, body := postReview(t, webhookClient(t, ""), review)
		assert.Equal(t, http.StatusUnauthorized, code, body)
		assert.Contains(t, body, "needs a client certificate")
		code, body = postReview(t, webhookClient(t, "admin"), review)
		assert.Equal(t, http.StatusForbidden, code, body)
		assert.Contains(t, body, `"kubernetes-admin" may not call the AccountQuota webhook`)
	}

	// Nothing was charged: the one Pod the quota allows is still admitted, through
	// kube-apiserver, and the next is refused.
	admin.Apply(t, podYAML("first", account)).Success(t)
	r := admin.Apply(t, podYAML("second", account)).Failure(t)
	assert.Contains(t, r.Stderr, "exceeded quota: "+account+", requested: pods=1, used: pods=1, limited: pods=1")
}

// webhookClient reaches the AccountQuota webhook of the local control plane straight, past
// kube-apiserver, with the client certificate cert of the local PKI ("admin",
// "accountquota-webhook-client"), or with none when cert is empty.
func webhookClient(t *testing.T, cert string) *http.Client {
	t.Helper()
	pki := filepath.Join(cluster.Dir, "pki")
	ca, err := os.ReadFile(filepath.Join(pki, "serving-ca.crt"))
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(ca))
	var certs []tls.Certificate
	if cert != "" {
		pair, err := tls.LoadX509KeyPair(filepath.Join(pki, cert+".crt"), filepath.Join(pki, cert+".key"))
		require.NoError(t, err)
		certs = append(certs, pair)
	}
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs, MinVersion: tls.VersionTLS12}}}
}

// postReview posts the AdmissionReview review to replica 0's webhook with c, and returns the
// answer's status and body.
func postReview(t *testing.T, c *http.Client, review []byte) (int, string) {
	t.Helper()
	return postReviewAt(t, c, accountquota.Path, review)
}

// postReviewAt posts the AdmissionReview review to replica 0's webhook at path with c.
func postReviewAt(t *testing.T, c *http.Client, path string, review []byte) (int, string) {
	t.Helper()
	resp, err := c.Post(cluster.Replica(0).URL+path, "application/json", bytes.NewReader(review))
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
