package controlplane

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestKubeAPIServerFlagsAreFilledIn(t *testing.T) {
	root, err := RepoRoot()
	require.NoError(t, err)
	flags, err := kubeAPIServerFlags(root, map[string]string{
		"port": "6443", "etcd": "http://127.0.0.1:2379", "pki": "/pki", "admission-config": "/a.yaml", "service-cidr": ServiceCIDR,
		"authentication-config": "/authn.yaml",
	})
	require.NoError(t, err)
	assert.Contains(t, flags, "--secure-port=6443")
	assert.Contains(t, flags, "--etcd-servers=http://127.0.0.1:2379")
	assert.Contains(t, flags, "--client-ca-file=/pki/ca.crt")
	assert.Contains(t, flags, "--admission-control-config-file=/a.yaml")
	assert.Contains(t, flags, "--service-cluster-ip-range="+ServiceCIDR)
	assert.Contains(t, flags, "--authentication-config=/authn.yaml")

	_, err = kubeAPIServerFlags(root, map[string]string{"port": "6443"})
	assert.ErrorContains(t, err, "nothing fills in {")
	_, err = fillFlags("empty", []byte("# only a comment\n\n"), nil)
	assert.ErrorContains(t, err, "empty holds no flags")
}
