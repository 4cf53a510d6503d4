package controlplane

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// process is one server binary run by the control plane, its output in a log file.
type process struct {
	name string
	log  string
	cmd  *exec.Cmd
	// exited is closed when the process has exited; err is then its exit status.
	exited chan struct{}
	err    error
}

// startProcess runs binary with args in a process group of its own, writing its output to
// logDir/name.log. The process is killed when this process dies, so a test binary that is
// killed leaves nothing running.
func startProcess(name, logDir, binary string, args ...string) (*process, error) {
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", logDir, err)
	}
	p := &process{name: name, log: filepath.Join(logDir, name+".log"), exited: make(chan struct{})}
	out, err := os.Create(p.log)
	if err != nil {
		return nil, fmt.Errorf("%s: creating its log: %w", name, err)
	}
	p.cmd = exec.Command(binary, args...)
	p.cmd.Stdout, p.cmd.Stderr = out, out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		_ = out.Close()
		return nil, fmt.Errorf("%s: starting %s: %w", name, binary, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		_ = out.Close()
		close(p.exited)
	}()
	return p, nil
}

// running reports an error when the process has exited.
func (p *process) running() error {
	select {
	case <-p.exited:
		return fmt.Errorf("%s exited (%v); last lines of %s:\n%s", p.name, p.err, p.log, p.tail(30))
	default:
		return nil
	}
}

// stop sends SIGTERM to the process group, waits up to timeout for the process to exit, then
// sends SIGKILL and waits for it too.
func (p *process) stop(timeout time.Duration) error {
	if p.running() != nil {
		return nil
	}
	pgid := -p.cmd.Process.Pid
	if err := syscall.Kill(pgid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("%s: SIGTERM: %w", p.name, err)
	}
	select {
	case <-p.exited:
		return nil
	case <-time.After(timeout):
	}
	if err := syscall.Kill(pgid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("%s: SIGKILL: %w", p.name, err)
	}
	select {
	case <-p.exited:
		return fmt.Errorf("%s ignored SIGTERM for %s and was killed", p.name, timeout)
	case <-time.After(10 * time.Second):
		return fmt.Errorf("%s (PID %d) still runs 10s after SIGKILL", p.name, p.cmd.Process.Pid)
	}
}

// tail returns the last n lines of the process's log.
func (p *process) tail(n int) string {
	data, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
