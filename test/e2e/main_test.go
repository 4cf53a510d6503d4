// Package e2e tests tenancy-apiserver behind a real kube-apiserver with the real kubectl, on
// the local control plane of hack/local-up.sh. The suite fails, never skips, when that control
// plane cannot be built or started.
//
// Environment: E2E_KEEP=1 leaves a control plane the suite started running afterwards (a
// running one whose APIServices are all Available is always reused and left running; any of
// its tenancy-apiserver replicas that does not run the work tree's build is restarted first).
// LOCAL_DIR and the *_PORT variables of hack/local-up.sh select another control plane than
// the default one in _output/local, for suites that must not share it.
package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// cluster is the control plane every test of the suite shares.
var cluster *framework.Cluster

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var err error
	cluster, err = framework.Setup(context.Background(), framework.Options{Keep: os.Getenv("E2E_KEEP") == "1"})
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: the local control plane is not available: %v\n", err)
		dumpLogs()
		return 1
	}
	code := m.Run()
	if code != 0 {
		dumpLogs()
	}
	if err := removePlugins(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: removing the plugins built: %v\n", err)
		code = 1
	}
	if err := teardownMember(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: member cluster: %v\n", err)
		code = 1
	}
	if err := cluster.Teardown(os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		code = 1
	}
	return code
}

// dumpLogs prints the end of every log of the control plane, to explain a failure.
func dumpLogs() {
	if cluster == nil {
		return
	}
	for _, name := range cluster.LogNames() {
		fmt.Fprintf(os.Stderr, "---- %s (last 40 lines) ----\n%s\n", name, cluster.LogTail(name, 40))
	}
}
