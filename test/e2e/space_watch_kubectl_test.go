package e2e

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tenancy-apiserver/tenancy-apiserver/test/e2e/framework"
)

// Two users watch their Spaces with kubectl get -w, one in the default columns and one with
// -o wide, a third with -o name; one RoleBinding grants the first two the same Space, whose
// event the server encodes once for both. Each kubectl prints its own header once and then
// the Space's row in its own columns; the third user, granted another Space afterwards, gets
// that one first and never the other.
func TestKubectlWatchesOfOneSpace(t *testing.T) {
	ctx := context.Background()
	admin := cluster.AdminClients(t)
	alice, bob, eve := framework.UniqueName("kw-alice"), framework.UniqueName("kw-bob"), framework.UniqueName("kw-eve")
	shared, own := framework.UniqueName("kw-shared"), framework.UniqueName("kw-own")
	labelledNamespaces(t, admin, "nobody", shared, own)

	aliceOut, aliceErr := kubectlWatch(t, alice, "get", "spaces", "-w")
	bobOut, bobErr := kubectlWatch(t, bob, "get", "spaces", "-w", "-o", "wide")
	eveOut, eveErr := kubectlWatch(t, eve, "get", "spaces", "-w", "-o", "name")
	// Each has listed nothing, and watches from that list's resourceVersion: what follows
	// reaches it as watch events.
	for _, stderr := range []<-chan string{aliceErr, bobErr, eveErr} {
		linesUntil(t, stderr, "No resources found")
	}

	binding := viewBinding("kw-both", alice)
	binding.Subjects = append(binding.Subjects, rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: bob})
	_, err := admin.Kube.RbacV1().RoleBindings(shared).Create(ctx, binding, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = admin.Kube.RbacV1().RoleBindings(own).Create(ctx, viewBinding("kw-eve", eve), metav1.CreateOptions{})
	require.NoError(t, err)

	aliceLines := linesUntil(t, aliceOut, shared)
	assert.Equal(t, []string{"NAME", "ACCOUNT", "PHASE", "AGE"}, strings.Fields(aliceLines[0]), "alice's header")
	assert.Len(t, aliceLines, 2, "one header, then the row: %q", aliceLines)
	assert.Equal(t, []string{shared, "nobody", "Active"}, strings.Fields(aliceLines[1])[:3])

	bobLines := linesUntil(t, bobOut, shared)
	assert.Equal(t, []string{"NAME", "ACCOUNT", "PHASE", "AGE", "SLEEP", "AFTER", "LAST", "ACTIVITY", "SLEEPING", "SINCE"},
		strings.Fields(bobLines[0]), "bob's wide header")
	assert.Len(t, bobLines, 2, "one header, then the row: %q", bobLines)

	eveLines := linesUntil(t, eveOut, own)
	assert.Equal(t, []string{"space.tenancy.kiosk.sh/" + own}, eveLines, "eve's first Space is her own, and nothing before it")
}

// kubectlWatch runs kubectl as user with args until the test ends, and sends each line it
// prints, on its standard output and its standard error.
func kubectlWatch(t *testing.T, user string, args ...string) (stdout, stderr <-chan string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	full := append([]string{"--kubeconfig", cluster.Kubeconfig, "--as=" + user}, args...)
	cmd := exec.CommandContext(ctx, cluster.KubectlPath, full...)
	cmd.Env = append(os.Environ(), "KUBECTL_COMMAND_HEADERS=false")
	outPipe, err := cmd.StdoutPipe()
	require.NoError(t, err)
	errPipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	var readers sync.WaitGroup
	scan := func(r io.Reader) <-chan string {
		lines := make(chan string, 64)
		readers.Add(1)
		go func() {
			defer readers.Done()
			defer close(lines)
			s := bufio.NewScanner(r)
			for s.Scan() {
				select {
				case lines <- s.Text():
				case <-ctx.Done():
					return
				}
			}
		}()
		return lines
	}
	stdout, stderr = scan(outPipe), scan(errPipe)
	t.Cleanup(func() {
		cancel()
		readers.Wait()
		_ = cmd.Wait()
	})
	return stdout, stderr
}

// linesUntil returns the lines up to the first that starts with name or names it, that one
// included.
func linesUntil(t *testing.T, lines <-chan string, name string) []string {
	t.Helper()
	var got []string
	deadline := time.After(30 * time.Second)
	for {
		select {
		case line, ok := <-lines:
			require.True(t, ok, "kubectl ended before printing %s; it printed %q", name, got)
			got = append(got, line)
			if strings.HasPrefix(line, name+" ") || strings.HasSuffix(line, "/"+name) || strings.HasPrefix(line, name) && strings.Contains(name, " ") {
				return got
			}
		case <-deadline:
			t.Fatalf("kubectl printed no %s in 30s; it printed %q", name, got)
		}
	}
}
