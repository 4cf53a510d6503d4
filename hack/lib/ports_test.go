package lib_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// plane are the settings of a control plane without a node or a registry, on ports from base:
// etcd base and base+1, tenancy etcd base+2 and base+3, kube-apiserver base+4, its controller
// manager base+5, tenancy-apiserver base+6 and the OIDC issuer base+7.
func plane(base int, extra ...string) []string {
	env := []string{"NODE=0", "REGISTRY=0"}
	for i, name := range []string{"ETCD_PORT", "ETCD_PEER_PORT", "TENANCY_ETCD_PORT", "TENANCY_ETCD_PEER_PORT",
		"KUBE_APISERVER_PORT", "KUBE_CONTROLLER_MANAGER_PORT", "TENANCY_PORT", "OIDC_PORT"} {
		env = append(env, fmt.Sprintf("%s=%d", name, base+i))
	}
	return append(env, extra...)
}

// recordPlane writes the env file local-up would write for settings into a new directory.
func recordPlane(t *testing.T, settings ...string) string {
	t.Helper()
	dir := t.TempDir()
	out, err := upTo(t, dir, "lcp::save_env", settings...)
	require.NoError(t, err, out)
	return dir
}

// upTo runs local-up's settings steps (hack/local-up.sh before it starts anything) in dir,
// then script.
func upTo(t *testing.T, dir, script string, env ...string) (string, error) {
	t.Helper()
	lib, err := filepath.Abs(".")
	require.NoError(t, err)
	return shell(t, dir, "source "+lib+"/node.sh; source "+lib+"/registry.sh; source "+lib+"/oidc.sh; "+
		`lcp::defaults; if [[ -n ${SECOND_PLANE_OF:-} ]]; then lcp::second_plane "$SECOND_PLANE_OF"; fi; `+
		"node::defaults; registry::defaults; oidc::defaults; "+script, env...)
}

const printPorts = `for n in ETCD_PORT ETCD_PEER_PORT TENANCY_ETCD_PORT TENANCY_ETCD_PEER_PORT KUBE_APISERVER_PORT ` +
	`KUBE_CONTROLLER_MANAGER_PORT TENANCY_PORT OIDC_PORT REGISTRY_PORT; do echo "$n=${!n}"; done; echo "OIDC_ISSUER_URL=$OIDC_ISSUER_URL"`

func TestSecondPlanePortsFollowTheFirst(t *testing.T) {
	first := recordPlane(t, plane(15300, "REGISTRY=1", "REGISTRY_PORT=15310")...)
	// The environment's own ports (those of the first plane, as a test suite exports them)
	// give way to the derived ones.
	out, err := upTo(t, t.TempDir(), printPorts, plane(15300, "SECOND_PLANE_OF="+first)...)
	require.NoError(t, err, out)
	assert.Equal(t, "ETCD_PORT=16300\nETCD_PEER_PORT=16301\nTENANCY_ETCD_PORT=16302\nTENANCY_ETCD_PEER_PORT=16303\n"+
		"KUBE_APISERVER_PORT=16304\nKUBE_CONTROLLER_MANAGER_PORT=16305\nTENANCY_PORT=16306\nOIDC_PORT=15308\n"+
		"REGISTRY_PORT=16310\nOIDC_ISSUER_URL=https://127.0.0.1:15308\n", out)

	out, err = upTo(t, t.TempDir(), printPorts, "SECOND_PLANE_OF="+first, "PLANE_OFFSET=2000", "REGISTRY=0")
	require.NoError(t, err, out)
	assert.Contains(t, out, "KUBE_APISERVER_PORT=17304\n")
	assert.Contains(t, out, "OIDC_PORT=15308\n")

	out, err = upTo(t, t.TempDir(), "lcp::check_ports && echo free", "SECOND_PLANE_OF="+first, "REGISTRY=0")
	require.NoError(t, err, out)
	assert.Equal(t, "free\n", out)
}

// A first plane recorded by an older local-up, without OIDC_PORT and REGISTRY_PORT: they
// follow from the issuer's URL and the registry's address.
func TestSecondPlaneOfAnOlderRecord(t *testing.T) {
	first := t.TempDir()
	var b strings.Builder
	for _, kv := range plane(15400)[2:8] {
		b.WriteString(kv + "\n")
	}
	b.WriteString("TENANCY_PORT=15406\nREPLICAS=1\nTENANCY=1\nETCD_MEMBERS=1\nOIDC_ISSUER_URL=https://127.0.0.1:15407\n" +
		"REGISTRY_ADDRESS=127.0.0.1:15410\n")
	require.NoError(t, os.WriteFile(filepath.Join(first, "env"), []byte(b.String()), 0o644))
	out, err := upTo(t, t.TempDir(), printPorts, "SECOND_PLANE_OF="+first, "REGISTRY=1")
	require.NoError(t, err, out)
	assert.Contains(t, out, "OIDC_PORT=15408\n")
	assert.Contains(t, out, "REGISTRY_PORT=16410\n")
}

func TestSecondPlaneRefusesAPortOfTheFirst(t *testing.T) {
	for _, tc := range []struct {
		name          string
		first, second []string
		want          string
	}{
		{
			// The hub on 24379…, its kube-apiserver on 28643 and its server on 29643: 28643+1000
			// puts the member's kube-apiserver on the hub's server.
			name: "kube-apiserver on the first plane's server",
			first: []string{"NODE=0", "REGISTRY=0", "ETCD_PORT=24379", "ETCD_PEER_PORT=24380", "TENANCY_ETCD_PORT=24381",
				"TENANCY_ETCD_PEER_PORT=24382", "KUBE_APISERVER_PORT=28643", "KUBE_CONTROLLER_MANAGER_PORT=20257",
				"TENANCY_PORT=29643", "OIDC_PORT=24443"},
			second: []string{"REGISTRY=0"},
			want:   "KUBE_APISERVER_PORT 29643 is the TENANCY_PORT of the control plane in ",
		},
		{
			name:   "a port of the first plane's second replica",
			first:  plane(15500, "REPLICAS=2", "KUBE_APISERVER_PORT=14507"),
			second: []string{"REGISTRY=0"},
			want:   "KUBE_APISERVER_PORT 15507 is the TENANCY_PORT+1 of the control plane in ",
		},
		{
			name:   "the registry's default port on the first plane's kube-apiserver's",
			first:  []string{"NODE=0", "REGISTRY=1", "REGISTRY_PORT=25443", "KUBE_APISERVER_PORT=26443"},
			second: []string{"REGISTRY=1"},
			want:   "REGISTRY_PORT 26443 is the KUBE_APISERVER_PORT of the control plane in ",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			first := recordPlane(t, tc.first...)
			out, err := upTo(t, t.TempDir(), "lcp::check_ports", append(tc.second, "SECOND_PLANE_OF="+first)...)
			require.Error(t, err, out)
			assert.Contains(t, out, "error: ports of the local control plane on 127.0.0.1: ")
			assert.Contains(t, out, tc.want+first)
		})
	}
}

func TestSecondPlaneNeedsItsOwnDirectoryAndNoNode(t *testing.T) {
	first := recordPlane(t, plane(15600)...)
	out, err := upTo(t, first, "", "SECOND_PLANE_OF="+first)
	require.Error(t, err, out)
	assert.Equal(t, "error: SECOND_PLANE_OF is LOCAL_DIR ("+first+"): a second control plane needs a LOCAL_DIR of its own\n", out)

	out, err = upTo(t, t.TempDir(), "", "SECOND_PLANE_OF="+first, "NODE=1")
	require.Error(t, err, out)
	assert.Equal(t, "error: a second control plane runs no node (one node a host): NODE=0\n", out)

	none := t.TempDir()
	out, err = upTo(t, t.TempDir(), "", "SECOND_PLANE_OF="+none)
	require.Error(t, err, out)
	assert.Contains(t, out, "error: SECOND_PLANE_OF="+none+": no control plane is recorded there")
}

// freePorts returns n ports that nothing listened on a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer func() { _ = l.Close() }()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

func TestCheckPortsNamesWhatHoldsAPort(t *testing.T) {
	ports := freePorts(t, 8)
	var env []string
	for i, name := range []string{"ETCD_PORT", "ETCD_PEER_PORT", "TENANCY_ETCD_PORT", "TENANCY_ETCD_PEER_PORT",
		"KUBE_APISERVER_PORT", "KUBE_CONTROLLER_MANAGER_PORT", "TENANCY_PORT", "OIDC_PORT"} {
		env = append(env, name+"="+strconv.Itoa(ports[i]))
	}
	env = append(env, "NODE=0", "REGISTRY=0")
	out, err := upTo(t, t.TempDir(), "lcp::check_ports && echo free", env...)
	require.NoError(t, err, out)
	assert.Equal(t, "free\n", out)

	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:"+strconv.Itoa(ports[4]))
	require.NoError(t, err)
	defer func() { _ = l.Close() }()
	out, err = upTo(t, t.TempDir(), "lcp::check_ports", env...)
	require.Error(t, err, out)
	comm, err := os.ReadFile("/proc/self/comm")
	require.NoError(t, err)
	assert.Contains(t, out, fmt.Sprintf("KUBE_APISERVER_PORT %d is taken by PID %d (%s)", ports[4], os.Getpid(), strings.TrimSpace(string(comm))))

	// Two settings on one port.
	out, err = upTo(t, t.TempDir(), "lcp::check_ports", append(env, "TENANCY_PORT="+strconv.Itoa(ports[0]))...)
	require.Error(t, err, out)
	assert.Contains(t, out, fmt.Sprintf("TENANCY_PORT %d is ETCD_PORT as well", ports[0]))
}
