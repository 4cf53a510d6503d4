package e2e

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDiscoveryServesBothGroups(t *testing.T) {
	t.Parallel()
	versions := lines(cluster.Admin().Run(t, "api-versions").Success(t).Stdout)
	assert.Contains(t, versions, "config.kiosk.sh/v1alpha1")
	assert.Contains(t, versions, "tenancy.kiosk.sh/v1alpha1")

	groups, err := cluster.AdminClients(t).Kube.Discovery().ServerGroups()
	require.NoError(t, err)
	preferred := map[string]string{}
	for _, g := range groups.Groups {
		preferred[g.Name] = g.PreferredVersion.Version
	}
	assert.Equal(t, "v1alpha1", preferred["config.kiosk.sh"])
	assert.Equal(t, "v1alpha1", preferred["tenancy.kiosk.sh"])
}

func TestAPIResourcesOfConfigGroup(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{
			name: "all",
			args: []string{"api-resources", "--api-group=config.kiosk.sh", "-o", "name"},
			want: []string{"accountquotas.config.kiosk.sh", "accounts.config.kiosk.sh", "clusters.config.kiosk.sh",
				"templateinstances.config.kiosk.sh", "templates.config.kiosk.sh"},
		},
		{
			name: "namespaced",
			args: []string{"api-resources", "--api-group=config.kiosk.sh", "--namespaced=true", "-o", "name"},
			want: []string{"templateinstances.config.kiosk.sh"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := lines(cluster.Admin().Run(t, tt.args...).Success(t).Stdout)
			assert.ElementsMatch(t, tt.want, got)
		})
	}
}

func TestExplain(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		resource string
		want     []string
	}{
		{
			name:     "config Account spec.space",
			resource: "accounts.config.kiosk.sh.spec.space",
			want: []string{"GROUP:      config.kiosk.sh", "KIND:       Account", "FIELD: space",
				"clusterRole", "limit", "templateInstances", "spaceTemplate"},
		},
		{
			// tenancy.kiosk.sh has the higher group priority: a bare "accounts" is its Account.
			name:     "accounts resolve to tenancy.kiosk.sh",
			resource: "accounts",
			want:     []string{"GROUP:      tenancy.kiosk.sh", "KIND:       Account"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := cluster.Admin().Run(t, "explain", tt.resource).Success(t).Stdout
			for _, w := range tt.want {
				assert.Contains(t, out, w)
			}
		})
	}
}

// lines splits kubectl output into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
