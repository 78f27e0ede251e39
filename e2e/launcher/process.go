package launcher

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/process"
)

// agentProcess is one run of the agent binary.
type agentProcess struct {
	cmd     *exec.Cmd
	logFile *os.File
	// done is closed once the process has exited; err is its exit error.
	done chan struct{}
	err  error
}

// startAgent starts the agent process and waits until it is ready.
func (a *Agent) startAgent(ctx context.Context) error {
	started := time.Now()
	p, err := a.spawn(a.configPath)
	if err != nil {
		return err
	}
	if err := a.waitReady(ctx, p, started); err != nil {
		return err
	}
	a.log.Info("agent ready", "elapsed_ms", time.Since(started).Milliseconds())
	return nil
}

// bootstrap runs the agent once as a server alone, until it has elected
// itself and created its keyring, and stops it again. A client that starts
// together with a fresh server can try to register in the milliseconds
// between the election and the keyring's creation; it is then refused
// ("keyring has not been initialized yet") and retries only 15 to 30 s
// later. With the keyring on disk, the full agent's client registers at once.
func (a *Agent) bootstrap(ctx context.Context) error {
	started := time.Now()
	p, err := a.spawn(a.serverConfigPath())
	if err != nil {
		return err
	}
	waitCtx, cancel := context.WithTimeout(ctx, a.cfg.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for ready := false; !ready; {
		select {
		case <-p.done:
			return fmt.Errorf("launcher: the agent exited during its bootstrap (%v); the end of %s:\n%s", p.err, a.logPath, a.LogTail(40))
		case <-waitCtx.Done():
			_ = a.stopAgent(context.Background())
			return fmt.Errorf("launcher: the server has no keyring after %s: %w; the end of %s:\n%s",
				a.cfg.ReadyTimeout, waitCtx.Err(), a.logPath, a.LogTail(40))
		case <-tick.C:
		}
		keys, _, err := a.client.Keyring().List(nil)
		ready = err == nil && len(keys) > 0
	}
	stopCtx, cancelStop := context.WithTimeout(ctx, a.cfg.StopTimeout)
	defer cancelStop()
	if err := a.stopAgent(stopCtx); err != nil {
		return err
	}
	a.log.Info("server bootstrapped", "elapsed_ms", time.Since(started).Milliseconds())
	return nil
}

// spawn starts the agent binary with a configuration file.
func (a *Agent) spawn(configPath string) (*agentProcess, error) {
	logFile, err := os.OpenFile(a.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("launcher: open the agent log: %w", err)
	}
	cmd := exec.Command(a.cfg.NomadBin, "agent", "-config", configPath, "-plugin-dir", a.pluginDir)
	cmd.Env = a.agentEnv()
	cmd.Dir = a.dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	detach(cmd)
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("launcher: start %s: %w", a.cfg.NomadBin, err)
	}
	p := &agentProcess{cmd: cmd, logFile: logFile, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	a.procLock.Lock()
	a.proc = p
	a.procLock.Unlock()
	a.log.Info("agent started", "pid", cmd.Process.Pid, "config", filepath.Base(configPath), "address", a.Address(), "log", a.logPath)
	return p, nil
}

// agentEnv is the launcher's environment without what breaks the agent,
// plus extraEnv.
func (a *Agent) agentEnv() []string {
	return append(cleanEnv(os.Environ()), a.extraEnv()...)
}

// extraEnv is a temporary directory of the agent's own and the marker every
// process it starts inherits.
func (a *Agent) extraEnv() []string {
	tmp := a.tmpDir()
	env := []string{"TMPDIR=" + tmp}
	if runtime.GOOS == "windows" {
		env = []string{"TMP=" + tmp, "TEMP=" + tmp}
	}
	return append(env, markerEnv+"="+a.marker)
}

// cleanEnv drops AWS_CA_BUNDLE (with it set, the agent's AWS fingerprinter
// fails and the agent exits at start), the temporary directory variables and
// a marker inherited from another launcher.
func cleanEnv(env []string) []string {
	drop := map[string]bool{"AWS_CA_BUNDLE": true, "TMPDIR": true, "TMP": true, "TEMP": true, markerEnv: true}
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if runtime.GOOS == "windows" {
			k = strings.ToUpper(k)
		}
		if !drop[k] {
			out = append(out, kv)
		}
	}
	return out
}

// running reports whether the agent process is alive.
func (a *Agent) running() bool {
	a.procLock.Lock()
	p := a.proc
	a.procLock.Unlock()
	if p == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Exited is closed when the agent process exits (for a foreground program
// that must notice a crash). After Restart it belongs to the new process.
func (a *Agent) Exited() <-chan struct{} {
	a.procLock.Lock()
	defer a.procLock.Unlock()
	if a.proc == nil {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	return a.proc.done
}

// stopAgent interrupts the agent and waits for it to exit; when ctx ends
// first, it kills it.
func (a *Agent) stopAgent(ctx context.Context) error {
	a.procLock.Lock()
	p := a.proc
	a.procLock.Unlock()
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := interrupt(p.cmd.Process); err != nil {
		a.log.Warn("interrupt failed; killing the agent", "error", err)
		_ = p.cmd.Process.Kill()
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
	}
	a.log.Warn("agent did not stop in time; killing it", "pid", p.cmd.Process.Pid)
	_ = p.cmd.Process.Kill()
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("launcher: the agent (pid %d) does not exit after SIGKILL", p.cmd.Process.Pid)
	}
}

// Restart stops the agent (its tasks keep running, as on a client restart)
// and starts it again on the same data directory; it returns once the node
// is ready and the iis driver healthy again.
func (a *Agent) Restart(ctx context.Context) error {
	stopCtx, cancel := context.WithTimeout(ctx, a.cfg.StopTimeout)
	defer cancel()
	if err := a.stopAgent(stopCtx); err != nil {
		return err
	}
	return a.startAgent(ctx)
}

// PluginPIDs lists the nomad_iis processes the agent runs (normally one).
func (a *Agent) PluginPIDs(ctx context.Context) ([]int, error) {
	a.procLock.Lock()
	p := a.proc
	a.procLock.Unlock()
	if p == nil {
		return nil, errors.New("launcher: the agent is not running")
	}
	agent, err := process.NewProcessWithContext(ctx, int32(p.cmd.Process.Pid))
	if err != nil {
		return nil, fmt.Errorf("launcher: agent process: %w", err)
	}
	children, err := agent.ChildrenWithContext(ctx)
	if err != nil && !errors.Is(err, process.ErrorNoChildren) {
		return nil, fmt.Errorf("launcher: children of the agent: %w", err)
	}
	var pids []int
	want := filepath.Join(a.pluginDir, pluginFileName())
	for _, c := range children {
		exe, err := c.ExeWithContext(ctx)
		if err == nil && sameFile(exe, want) {
			pids = append(pids, int(c.Pid))
		}
	}
	return pids, nil
}

// KillPlugin kills the plugin processes with SIGKILL, as a crash would, and
// returns their PIDs. The agent starts the plugin again by itself.
func (a *Agent) KillPlugin(ctx context.Context) ([]int, error) {
	pids, err := a.PluginPIDs(ctx)
	if err != nil {
		return nil, err
	}
	if len(pids) == 0 {
		return nil, errors.New("launcher: no plugin process is running")
	}
	for _, pid := range pids {
		if p, err := os.FindProcess(pid); err == nil {
			if err := p.Kill(); err != nil {
				return nil, fmt.Errorf("launcher: kill plugin %d: %w", pid, err)
			}
		}
	}
	return pids, nil
}

// LogTail returns the last n lines of the agent's log.
func (a *Agent) LogTail(n int) string {
	f, err := os.Open(a.logPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	// The log can be large; only the end matters.
	if st, err := f.Stat(); err == nil && st.Size() > 256<<10 {
		_, _ = f.Seek(-256<<10, io.SeekEnd)
	}
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}

// pluginFileName is the name Nomad looks for in the plugin directory.
func pluginFileName() string {
	if runtime.GOOS == "windows" {
		return "nomad_iis.exe"
	}
	return "nomad_iis"
}

// sameFile reports whether two paths name the same file.
func sameFile(a, b string) bool {
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

// copyFile copies src to dst with the executable bit.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
