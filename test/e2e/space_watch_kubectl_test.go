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
// that one and never the other.
func TestKubectlWatchesOfOneSpace(t *testing.T) {
	ctx := context.Background()
	admin := cluster.AdminClients(t)
	alice, bob, eve := framework.UniqueName("kw-alice"), framework.UniqueName("kw-bob"), framework.UniqueName("kw-eve")
	first, shared, own := framework.UniqueName("kw-first"), framework.UniqueName("kw-shared"), framework.UniqueName("kw-own")
	labelledNamespaces(t, admin, "nobody", first, shared, own)
	bind := func(ns, name string, users ...string) {
		t.Helper()
		b := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "view"}}
		for _, u := range users {
			b.Subjects = append(b.Subjects, rbacv1.Subject{Kind: "User", APIGroup: rbacv1.GroupName, Name: u})
		}
		_, err := admin.Kube.RbacV1().RoleBindings(ns).Create(ctx, b, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	// Each user sees one Space to start with: once kubectl has printed it, its watch is
	// open from that list's resourceVersion, and what follows reaches it as watch events.
	bind(first, "kw-first", alice, bob, eve)
	aliceOut := kubectlWatch(t, alice, "get", "spaces", "-w")
	bobOut := kubectlWatch(t, bob, "get", "spaces", "-w", "-o", "wide")
	eveOut := kubectlWatch(t, eve, "get", "spaces", "-w", "-o", "name")
	aliceStart, bobStart := linesUntil(t, aliceOut, first), linesUntil(t, bobOut, first)
	assert.Equal(t, []string{"NAME", "ACCOUNT", "PHASE", "AGE"}, strings.Fields(aliceStart[0]), "alice's header")
	assert.Equal(t, []string{"NAME", "ACCOUNT", "PHASE", "AGE", "SLEEP", "AFTER", "LAST", "ACTIVITY", "SLEEPING", "SINCE"},
		strings.Fields(bobStart[0]), "bob's wide header")
	assert.Equal(t, []string{"space.tenancy.kiosk.sh/" + first}, linesUntil(t, eveOut, first))

	bind(shared, "kw-both", alice, bob)
	bind(own, "kw-eve", eve)

	aliceLines := linesUntil(t, aliceOut, shared)
	require.Len(t, aliceLines, 1, "the row alone, no header again: %q", aliceLines)
	assert.Equal(t, []string{shared, "nobody", "Active"}, strings.Fields(aliceLines[0])[:3])
	bobLines := linesUntil(t, bobOut, shared)
	require.Len(t, bobLines, 1, "the row alone, no header again: %q", bobLines)
	assert.Equal(t, []string{shared, "nobody", "Active"}, strings.Fields(bobLines[0])[:3])
	assert.Equal(t, []string{"space.tenancy.kiosk.sh/" + own}, linesUntil(t, eveOut, own),
		"eve's next Space is her own, and nothing before it")
}

// kubectlWatch runs kubectl as user with args until the test ends, and sends each line it
// prints on its standard output.
func kubectlWatch(t *testing.T, user string, args ...string) (stdout <-chan string) {
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
	stdout = scan(outPipe)
	readers.Add(1)
	go func() {
		defer readers.Done()
		_, _ = io.Copy(io.Discard, errPipe)
	}()
	t.Cleanup(func() {
		cancel()
		readers.Wait()
		_ = cmd.Wait()
	})
	return stdout
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
			if strings.HasPrefix(line, name+" ") || strings.HasSuffix(line, "/"+name) {
				return got
			}
		case <-deadline:
			t.Fatalf("kubectl printed no %s in 30s; it printed %q", name, got)
		}
	}
}
