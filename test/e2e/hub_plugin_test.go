package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// A tenant signed in to the hub and to the member by one identity provider (each cluster's
// OIDC issuer here) runs kubectl space use for a Space the hub lists in the member: the new
// context talks to the member's kube-apiserver, whose address the hub gives on the Space,
// with the tenant's own user entry for the member, and kubectl works there in the Space as
// the tenant. Nothing of the hub's credentials reaches the kubeconfig.
func TestHubPluginUseMemberSpace(t *testing.T) {
	m := member(t)
	name := framework.UniqueName("member")
	joinMember(t, m, name)
	bin := buildPlugins(t)
	user := framework.UniqueName("hub-plugin")
	space := framework.UniqueName("hub-plugin-space")
	visibleTo(t, m.AdminClients(t), framework.OIDCPrefix+user, "acct", space)

	hubServer, hubCA := kubeconfigServer(t, cluster.Kubeconfig)
	memberServer, memberCA := kubeconfigServer(t, m.Kubeconfig)
	dir := t.TempDir()
	caFile := filepath.Join(dir, "member-ca.crt")
	require.NoError(t, os.WriteFile(caFile, memberCA, 0o600))
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["hub"] = &clientcmdapi.Cluster{Server: hubServer, CertificateAuthorityData: hubCA}
	cfg.AuthInfos["hub-oidc"] = &clientcmdapi.AuthInfo{Token: cluster.OIDCToken(t, user)}
	cfg.AuthInfos["member-oidc"] = &clientcmdapi.AuthInfo{Token: m.OIDCToken(t, user)}
	cfg.Contexts["hub"] = &clientcmdapi.Context{Cluster: "hub", AuthInfo: "hub-oidc"}
	cfg.CurrentContext = "hub"
	kubeconfig := filepath.Join(dir, "kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, kubeconfig))
	tenant := pluginUser{bin: bin, kubeconfig: kubeconfig}

	pollUntil(t, 10*time.Second, "the hub lists the member's Space for the tenant", func() bool {
		return tenant.run(t, "get", "space", space).Err == nil
	})
	refused := tenant.run(t, "space", "use", space).Failure(t)
	assert.Contains(t, refused.Stderr, "--context-name")
	noStackTrace(t, refused)

	used := tenant.run(t, "space", "use", space, "--context-name", space, "--user", "member-oidc",
		"--certificate-authority", caFile).Success(t)
	for _, s := range []string{space, name, memberServer, `"member-oidc"`, "no credentials of the hub"} {
		assert.Contains(t, used.Stdout, s)
	}
	written, err := clientcmd.LoadFromFile(kubeconfig)
	require.NoError(t, err)
	assert.Equal(t, space, written.CurrentContext)
	ctx := written.Contexts[space]
	require.NotNil(t, ctx)
	assert.Equal(t, "member-oidc", ctx.AuthInfo)
	assert.Equal(t, space, ctx.Namespace)
	assert.Equal(t, memberServer, written.Clusters[ctx.Cluster].Server)
	assert.Len(t, written.AuthInfos, 2, "no credentials were added")

	// kubectl now works in the Space in the member, as the tenant themselves.
	whoami := tenant.run(t, "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}").Success(t)
	assert.Equal(t, framework.OIDCPrefix+user, whoami.Stdout)
	tenant.run(t, "get", "configmaps").Success(t)
	assert.Contains(t, tenant.run(t, "get", "configmaps", "-n", "kube-system").Failure(t).Stderr, "Forbidden",
		"the member's RBAC applies to the tenant, not the hub's rights there")

	// The hub's own credentials for the member are nowhere in the kubeconfig.
	secret, err := cluster.AdminClients(t).Kube.CoreV1().Secrets("kube-system").Get(context.Background(), "cluster-"+name, metav1.GetOptions{})
	require.NoError(t, err)
	data, err := os.ReadFile(kubeconfig)
	require.NoError(t, err)
	assert.False(t, strings.Contains(string(data), string(secret.Data["token"])), "the hub's token is in the tenant's kubeconfig")
}
