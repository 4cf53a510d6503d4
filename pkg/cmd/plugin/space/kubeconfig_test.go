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
