package space

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

func kubeconfig() *clientcmdapi.Config {
	cfg := clientcmdapi.NewConfig()
	cfg.Contexts["dev"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "dev", Namespace: "default", LocationOfOrigin: "/home/dev/.kube/config"}
	cfg.Contexts["other"] = &clientcmdapi.Context{Cluster: "c2", AuthInfo: "ops"}
	cfg.CurrentContext = "dev"
	return cfg
}

func TestUseSpace(t *testing.T) {
	for _, tc := range []struct {
		name                string
		context, newContext string
		want                Use
		wantCurrent         string
		wantContexts        map[string]clientcmdapi.Context
	}{
		{
			name: "the current context", want: Use{Context: "dev", Space: "web"}, wantCurrent: "dev",
			wantContexts: map[string]clientcmdapi.Context{
				"dev":   {Cluster: "c", AuthInfo: "dev", Namespace: "web", LocationOfOrigin: "/home/dev/.kube/config"},
				"other": {Cluster: "c2", AuthInfo: "ops"},
			},
		},
		{
			name: "--context", context: "other", want: Use{Context: "other", Space: "web"}, wantCurrent: "dev",
			wantContexts: map[string]clientcmdapi.Context{
				"dev":   {Cluster: "c", AuthInfo: "dev", Namespace: "default", LocationOfOrigin: "/home/dev/.kube/config"},
				"other": {Cluster: "c2", AuthInfo: "ops", Namespace: "web"},
			},
		},
		{
			name: "--context-name writes a copy and makes it current", newContext: "web",
			want: Use{Context: "web", Created: true, Space: "web"}, wantCurrent: "web",
			wantContexts: map[string]clientcmdapi.Context{
				"dev":   {Cluster: "c", AuthInfo: "dev", Namespace: "default", LocationOfOrigin: "/home/dev/.kube/config"},
				"other": {Cluster: "c2", AuthInfo: "ops"},
				"web":   {Cluster: "c", AuthInfo: "dev", Namespace: "web", LocationOfOrigin: "/home/dev/.kube/config"},
			},
		},
		{
			name: "--context-name of an existing context replaces it", context: "dev", newContext: "other",
			want: Use{Context: "other", Space: "web"}, wantCurrent: "other",
			wantContexts: map[string]clientcmdapi.Context{
				"dev":   {Cluster: "c", AuthInfo: "dev", Namespace: "default", LocationOfOrigin: "/home/dev/.kube/config"},
				"other": {Cluster: "c", AuthInfo: "dev", Namespace: "web", LocationOfOrigin: "/home/dev/.kube/config"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := kubeconfig()
			got, err := UseSpace(cfg, tc.context, tc.newContext, "web")
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.wantCurrent, cfg.CurrentContext)
			gotContexts := map[string]clientcmdapi.Context{}
			for name, c := range cfg.Contexts {
				gotContexts[name] = *c
			}
			assert.Equal(t, tc.wantContexts, gotContexts)
		})
	}
}

func TestUseSpaceErrors(t *testing.T) {
	cfg := kubeconfig()
	_, err := UseSpace(cfg, "missing", "", "web")
	assert.EqualError(t, err, `context "missing" is not in the kubeconfig`)
	cfg.CurrentContext = ""
	_, err = UseSpace(cfg, "", "web", "web")
	assert.EqualError(t, err, "the kubeconfig has no current context: choose the context to use with --context")
	assert.NotContains(t, cfg.Contexts, "web")
}

func TestUseString(t *testing.T) {
	assert.Equal(t, `Context "dev" now uses Space "web".`, Use{Context: "dev", Space: "web"}.String())
	assert.Equal(t, `Context "web" created for Space "web"; it is the current context.`, Use{Context: "web", Space: "web", Created: true}.String())
}

func TestUseMemberSpace(t *testing.T) {
	member := Member{Cluster: "eu", Server: "https://eu.example:6443", CertificateAuthority: "/ca/eu.crt"}
	t.Run("the user of the current context", func(t *testing.T) {
		cfg := kubeconfig()
		cfg.AuthInfos["dev"] = &clientcmdapi.AuthInfo{Token: "hub-token-of-dev"}
		use, err := UseMemberSpace(cfg, "", "web-eu", "web", member)
		require.NoError(t, err)
		assert.Equal(t, Use{Context: "web-eu", Created: true, Space: "web", Cluster: "eu", Server: member.Server, User: "dev"}, use)
		assert.Equal(t, "web-eu", cfg.CurrentContext)
		assert.Equal(t, clientcmdapi.Context{Cluster: "web-eu", AuthInfo: "dev", Namespace: "web"}, *cfg.Contexts["web-eu"])
		assert.Equal(t, clientcmdapi.Cluster{Server: member.Server, CertificateAuthority: "/ca/eu.crt"}, *cfg.Clusters["web-eu"])
		assert.Equal(t, "default", cfg.Contexts["dev"].Namespace, "the context copied is unchanged")
		assert.Contains(t, use.String(), `your own credentials, the kubeconfig's user "dev"`)
		assert.Contains(t, use.String(), "no credentials of the hub")
	})
	t.Run("--user", func(t *testing.T) {
		cfg := kubeconfig()
		cfg.AuthInfos["eu-oidc"] = &clientcmdapi.AuthInfo{}
		m := member
		m.User = "eu-oidc"
		_, err := UseMemberSpace(cfg, "other", "web-eu", "web", m)
		require.NoError(t, err)
		assert.Equal(t, "eu-oidc", cfg.Contexts["web-eu"].AuthInfo)
	})
	for _, tc := range []struct {
		name, newContext, user, server, want string
	}{
		{"no --context-name", "", "", member.Server, `give --context-name`},
		{"an unknown user", "web-eu", "nobody", member.Server, `user "nobody" is not in the kubeconfig`},
		{"no address", "web-eu", "", "", `no address for cluster "eu"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := kubeconfig()
			cfg.AuthInfos["dev"] = &clientcmdapi.AuthInfo{}
			m := member
			m.User, m.Server = tc.user, tc.server
			_, err := UseMemberSpace(cfg, "", tc.newContext, "web", m)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, cfg.Contexts, "web-eu", "nothing written")
		})
	}
}
