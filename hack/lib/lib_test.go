// Package lib_test tests the process handling of the local control plane scripts
// (common.sh, used by hack/local-up.sh and hack/local-down.sh) on harmless processes.
package lib_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// shell runs a bash snippet with common.sh sourced and LOCAL_DIR set to dir.
func shell(t *testing.T, dir, script string, env ...string) (string, error) {
	t.Helper()
	lib, err := filepath.Abs("common.sh")
	require.NoError(t, err)
	cmd := exec.Command("bash", "-c", "set -o errexit -o nounset -o pipefail; source "+lib+"; "+script)
	cmd.Env = append(os.Environ(), append([]string{"LOCAL_DIR=" + dir}, env...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func recordedPID(t *testing.T, dir, name string) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "pids", name+".pid"))
	require.NoError(t, err)
	fields := strings.Fields(string(data))
	require.Len(t, fields, 2, "pid file %q", data)
	pid, err := strconv.Atoi(fields[0])
	require.NoError(t, err)
	return pid
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] != 'Z'
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	require.Eventually(t, func() bool { return !alive(pid) }, 10*time.Second, 20*time.Millisecond, "PID %d still runs", pid)
}

func TestStartRecordsTheServerPIDAndStopEndsIt(t *testing.T) {
	dir := t.TempDir()
	out, err := shell(t, dir, "lcp::start sleeper /bin/sleep 300")
	require.NoError(t, err, out)
	pid := recordedPID(t, dir, "sleeper")
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	require.True(t, alive(pid))
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	require.NoError(t, err)
	assert.Equal(t, "/bin/sleep\x00300\x00", string(cmdline), "the recorded PID must be the server itself")

	out, err = shell(t, dir, "lcp::pid_of sleeper")
	require.NoError(t, err, out)
	assert.Equal(t, strconv.Itoa(pid), strings.TrimSpace(out))

	out, err = shell(t, dir, "lcp::start sleeper /bin/sleep 300")
	require.Error(t, err, "a second start of a running process must fail")
	assert.Contains(t, out, "already running")

	out, err = shell(t, dir, "lcp::stop sleeper")
	require.NoError(t, err, out)
	waitGone(t, pid)
	assert.NoFileExists(t, filepath.Join(dir, "pids", "sleeper.pid"))
	assert.FileExists(t, filepath.Join(dir, "logs", "sleeper.log"))
}

func TestStopKillsWhatIgnoresSIGTERM(t *testing.T) {
	dir := t.TempDir()
	out, err := shell(t, dir, `lcp::start stubborn /bin/bash -c 'trap "" TERM; echo ready; while :; do sleep 0.05; done'`)
	require.NoError(t, err, out)
	pid := recordedPID(t, dir, "stubborn")
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	// Wait until the trap is set, or SIGTERM would end it the normal way.
	require.Eventually(t, func() bool {
		log, _ := os.ReadFile(filepath.Join(dir, "logs", "stubborn.log"))
		return strings.Contains(string(log), "ready")
	}, 10*time.Second, 20*time.Millisecond)

	started := time.Now()
	out, err = shell(t, dir, "lcp::stop stubborn", "STOP_TIMEOUT=1")
	require.NoError(t, err, out)
	assert.Contains(t, out, "ignored SIGTERM")
	assert.GreaterOrEqual(t, time.Since(started), time.Second, "SIGKILL came before STOP_TIMEOUT")
	waitGone(t, pid)
}

func TestStopLeavesARecycledPIDAlone(t *testing.T) {
	dir := t.TempDir()
	// A process that is not ours holds a PID recorded for another binary.
	other := exec.Command("/bin/sleep", "300")
	require.NoError(t, other.Start())
	t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "pids"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pids", "server.pid"),
		[]byte(strconv.Itoa(other.Process.Pid)+" /work/_output/bin/kube-apiserver\n"), 0o644))

	out, err := shell(t, dir, "lcp::pid_of server")
	assert.Error(t, err, "a PID running another binary is not ours: %s", out)
	out, err = shell(t, dir, "lcp::stop server")
	require.NoError(t, err, out)
	time.Sleep(200 * time.Millisecond)
	assert.True(t, alive(other.Process.Pid), "a process that is not ours was killed")
	assert.NoFileExists(t, filepath.Join(dir, "pids", "server.pid"))
}

func TestLocalDownStopsEveryRecordedProcess(t *testing.T) {
	dir := t.TempDir()
	names := []string{"etcd", "kube-apiserver", "kube-controller-manager", "tenancy-apiserver-0", "tenancy-apiserver-1",
		"tenancy-etcd-0", "tenancy-etcd-1"}
	var pids []int
	for _, name := range names {
		out, err := shell(t, dir, "lcp::start "+name+" /bin/sleep 300")
		require.NoError(t, err, out)
		pid := recordedPID(t, dir, name)
		t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
		pids = append(pids, pid)
	}
	down, err := filepath.Abs("../local-down.sh")
	require.NoError(t, err)
	cmd := exec.Command(down)
	cmd.Env = append(os.Environ(), "LOCAL_DIR="+dir)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	for i, pid := range pids {
		assert.False(t, alive(pid), "%s (PID %d) left running", names[i], pid)
	}
	left, err := filepath.Glob(filepath.Join(dir, "pids", "*.pid"))
	require.NoError(t, err)
	assert.Empty(t, left)

	again := exec.Command(down)
	again.Env = cmd.Env
	out, err = again.CombinedOutput()
	require.NoError(t, err, "a second local-down with nothing running: %s", out)
	assert.Contains(t, string(out), "nothing to stop")
}

// tenancy-etcd.sh flags points tenancy-apiserver at one etcd over HTTP, or at every member of
// a cluster over TLS, with the etcd CA to verify them and the client certificate to present;
// member I's ports are TENANCY_ETCD_PORT+10*I and TENANCY_ETCD_PEER_PORT+10*I.
func TestTenancyEtcdFlags(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "env"), []byte("TENANCY_ETCD_PORT=26381\nTENANCY_ETCD_PEER_PORT=26382\nETCD_MEMBERS=3\n"), 0o644))
	script, err := filepath.Abs("tenancy-etcd.sh")
	require.NoError(t, err)
	run := func(args ...string) (string, error) {
		cmd := exec.Command(script, args...)
		cmd.Env = append(os.Environ(), "LOCAL_DIR="+dir)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	flags := func(args ...string) (string, error) { return run(append([]string{"flags"}, args...)...) }
	out, err := flags("1")
	require.NoError(t, err, out)
	assert.Equal(t, "--etcd-servers=http://127.0.0.1:26381\n", out)
	out, err = flags()
	require.NoError(t, err, out)
	pki := filepath.Join(dir, "pki")
	assert.Equal(t, "--etcd-servers=https://127.0.0.1:26381,https://127.0.0.1:26391,https://127.0.0.1:26401\n"+
		"--etcd-cafile="+pki+"/etcd-ca.crt\n"+
		"--etcd-certfile="+pki+"/tenancy-apiserver-etcd-client.crt\n"+
		"--etcd-keyfile="+pki+"/tenancy-apiserver-etcd-client.key\n", out, "ETCD_MEMBERS=3 of the saved settings")

	out, err = flags("x")
	assert.Error(t, err, out)
	assert.Contains(t, out, "must be positive, not 'x'")
	out, err = run("stop-member", "7")
	assert.Error(t, err, out)
	assert.Contains(t, out, "no member 7 in a cluster of 3")
}

func TestPortFree(t *testing.T) {
	dir := t.TempDir()
	l, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	_, err = shell(t, dir, "lcp::port_free "+port)
	assert.Error(t, err, "port %s is taken", port)
	require.NoError(t, l.Close())
	_, err = shell(t, dir, "lcp::port_free "+port)
	assert.NoError(t, err, "port %s is free", port)
}

// hog keeps every CPU busy until the test ends, so that a child process is slow to exec.
func hog(t *testing.T) {
	t.Helper()
	for i := 0; i < runtime.NumCPU(); i++ {
		cmd := exec.Command("bash", "-c", "while :; do :; done")
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}
}

func TestStartUnderLoadRecordsOnlyTheRunningBinary(t *testing.T) {
	dir := t.TempDir()
	hog(t)
	const starts = 2
	// What local-up does after every start: lcp::pid_of must already find the server, or
	// lcp::wait_until declares that it exited while starting. The spawned shell is slowed
	// down before each of its commands, as a starved child is, which widens the time between
	// writing its PID and exec'ing the binary.
	script := `for i in $(seq ` + strconv.Itoa(starts) + `); do
  lcp::start "sleeper-$i" /bin/sleep 300
  lcp::pid_of "sleeper-$i" >/dev/null || { echo "sleeper-$i: pid_of failed right after start"; exit 1; }
done`
	cmd := exec.Command("nice", "-n", "19", "bash", "-c", "set -o errexit -o nounset -o pipefail; source "+mustAbs(t, "common.sh")+"; "+script)
	cmd.Env = append(os.Environ(), "LOCAL_DIR="+dir, "BASH_ENV="+writeBashEnv(t, `trap 'sleep 1' DEBUG`))
	out, err := cmd.CombinedOutput()
	for i := 1; i <= starts; i++ {
		if data, err := os.ReadFile(filepath.Join(dir, "pids", "sleeper-"+strconv.Itoa(i)+".pid")); err == nil {
			if pid, err := strconv.Atoi(strings.Fields(string(data))[0]); err == nil {
				t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
			}
		}
	}
	require.NoError(t, err, string(out))
	for i := 1; i <= starts; i++ {
		pid := recordedPID(t, dir, "sleeper-"+strconv.Itoa(i))
		cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		require.NoError(t, err)
		assert.Equal(t, "/bin/sleep\x00300\x00", string(cmdline))
	}
}

func TestStartOfABinaryThatExitsAtOnceFailsAndLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	out, err := shell(t, dir, "lcp::start quitter /bin/false")
	require.Error(t, err)
	assert.Contains(t, out, "quitter exited at once")
	left, err := filepath.Glob(filepath.Join(dir, "pids", "*"))
	require.NoError(t, err)
	assert.Empty(t, left, "no PID file may stay for a process that is gone")
}

func TestStartThatTimesOutKillsWhatItStarted(t *testing.T) {
	dir := t.TempDir()
	// The child stops itself before exec, so it never becomes the binary.
	out, err := shell(t, dir, `lcp::start stuck /bin/sleep 300`, "START_TIMEOUT=1", "BASH_ENV="+writeBashEnv(t, "sleep 30"))
	require.Error(t, err)
	assert.Contains(t, out, "did not start within 1s")
	left, err := filepath.Glob(filepath.Join(dir, "pids", "*"))
	require.NoError(t, err)
	assert.Empty(t, left)
	// Nothing of ours waits stopped for a SIGCONT: the stuck shell was killed.
	ps, err := exec.Command("pgrep", "-f", "sleep 300.*"+filepath.Base(dir)).CombinedOutput()
	assert.Error(t, err, "left running: %s", ps)
}

// writeBashEnv writes a BASH_ENV file that runs code in the shell lcp::start spawns (its $0
// is a file under pids/), before that shell writes its PID and execs its binary.
func writeBashEnv(t *testing.T, code string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "bash-env.sh")
	require.NoError(t, os.WriteFile(f, []byte(`if [[ ${0:-} == */pids/* ]]; then `+code+"; fi\n"), 0o644))
	return f
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	require.NoError(t, err)
	return abs
}

func TestLocalDownStopsAProcessWhoseStartWasInterrupted(t *testing.T) {
	dir := t.TempDir()
	// What an interrupted lcp::start leaves: the process runs its binary, its PID is only in
	// NAME.pid.starting.
	sleeper := exec.Command("/bin/sleep", "300")
	require.NoError(t, sleeper.Start())
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _ = sleeper.Wait() })
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "pids"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pids", "etcd.pid.starting"),
		[]byte(strconv.Itoa(sleeper.Process.Pid)+" /bin/sleep\n"), 0o644))
	cmd := exec.Command(mustAbs(t, "../local-down.sh"))
	cmd.Env = append(os.Environ(), "LOCAL_DIR="+dir)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, string(out))
	waitGone(t, sleeper.Process.Pid)
	left, err := filepath.Glob(filepath.Join(dir, "pids", "*"))
	require.NoError(t, err)
	assert.Empty(t, left)
}
