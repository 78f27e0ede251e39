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
	"sync"
	"time"

	"github.com/shirou/gopsutil/v4/process"
)

// role is one of the two agents, server or client.
type role struct {
	name       string
	dataDir    string
	configPath string
	logPath    string

	// lock guards proc, which a restart replaces.
	lock sync.Mutex
	proc *agentProcess
}

// agentProcess is one run of the agent binary.
type agentProcess struct {
	cmd *exec.Cmd
	// done is closed once the process has exited; err is its exit error.
	done chan struct{}
	err  error
}

// current returns the role's process, or nil before its first start.
func (r *role) current() *agentProcess {
	r.lock.Lock()
	defer r.lock.Unlock()
	return r.proc
}

// running reports whether the role's process is alive.
func (r *role) running() bool {
	p := r.current()
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

// startServer starts the server and waits until it has elected itself and
// created its keyring: a client registering before that is refused, and
// retries only 15 to 30 s later.
func (c *Cluster) startServer(ctx context.Context) error {
	started := time.Now()
	p, err := c.spawn(c.serverAgent)
	if err != nil {
		return err
	}
	err = c.waitFor(ctx, c.serverAgent, p, func() (bool, string) {
		leader, err := c.nomad.Status().Leader()
		if err != nil || leader == "" {
			return false, "no leader yet"
		}
		keys, _, err := c.nomad.Keyring().List(nil)
		if err != nil || len(keys) == 0 {
			return false, "no keyring yet"
		}
		return true, ""
	})
	if err != nil {
		return err
	}
	c.log.Info("server ready", "duration_ms", time.Since(started).Milliseconds())
	return nil
}

// startClient starts the client and waits until its node is ready and the
// iis driver healthy.
func (c *Cluster) startClient(ctx context.Context) error {
	started := time.Now()
	p, err := c.spawn(c.clientAgent)
	if err != nil {
		return err
	}
	if err := c.waitFor(ctx, c.clientAgent, p, func() (bool, string) { return c.clientReadiness(started) }); err != nil {
		return err
	}
	c.log.Info("client ready", "duration_ms", time.Since(started).Milliseconds())
	return nil
}

// spawn starts an agent with its configuration file.
func (c *Cluster) spawn(r *role) (*agentProcess, error) {
	logFile, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("launcher: open the %s log: %w", r.name, err)
	}
	cmd := exec.Command(c.cfg.NomadBin, "agent", "-config", r.configPath, "-plugin-dir", c.pluginDir)
	cmd.Env = c.agentEnv()
	cmd.Dir = c.dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	detach(cmd)
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("launcher: start the %s agent: %w", r.name, err)
	}
	p := &agentProcess{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = logFile.Close()
		close(p.done)
	}()
	r.lock.Lock()
	r.proc = p
	r.lock.Unlock()
	c.log.Info("agent started", "role", r.name, "pid", cmd.Process.Pid, "log", r.logPath)
	return p, nil
}

// agentEnv is the launcher's environment without what breaks the agent,
// plus extraEnv.
func (c *Cluster) agentEnv() []string {
	return append(cleanEnv(os.Environ()), c.extraEnv()...)
}

// extraEnv is a temporary directory of the cluster's own and the marker
// every process the agents start inherits.
func (c *Cluster) extraEnv() []string {
	tmp := c.tmpDir()
	env := []string{"TMPDIR=" + tmp}
	if runtime.GOOS == "windows" {
		env = []string{"TMP=" + tmp, "TEMP=" + tmp}
	}
	return append(env, markerEnv+"="+c.marker)
}

// cleanEnv drops AWS_CA_BUNDLE (with it set, the client's AWS fingerprinter
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

// Exited is closed when either agent exits (for a foreground program that
// must notice a crash). After Restart it watches the new client process.
func (c *Cluster) Exited() <-chan struct{} {
	out := make(chan struct{})
	s, cl := c.serverAgent.current(), c.clientAgent.current()
	if s == nil || cl == nil {
		close(out)
		return out
	}
	go func() {
		select {
		case <-s.done:
		case <-cl.done:
		}
		close(out)
	}()
	return out
}

// stopRole interrupts an agent and waits for it to exit; when ctx ends
// first, it kills it.
func (c *Cluster) stopRole(ctx context.Context, r *role) error {
	p := r.current()
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := interrupt(p.cmd.Process); err != nil {
		c.log.Warn("interrupt failed; killing the agent", "role", r.name, "error", err)
		killTree(p.cmd.Process.Pid)
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
	}
	c.log.Warn("agent did not stop in time; killing it", "role", r.name, "pid", p.cmd.Process.Pid)
	killTree(p.cmd.Process.Pid)
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("launcher: the %s agent (pid %d) does not exit after SIGKILL", r.name, p.cmd.Process.Pid)
	}
}

// killTree kills a process and its plugins. An agent stopped in order ends
// its plugins itself; one that is killed leaves them running (on Windows
// nothing ends a child with its parent), and a plugin left over would hold
// the Management API's port when the agent starts again. Logmon processes
// are left for Stop: Nomad reattaches to them.
func killTree(pid int) {
	if proc, err := process.NewProcess(int32(pid)); err == nil {
		if children, err := proc.Children(); err == nil {
			for _, ch := range children {
				if name, err := ch.Name(); err == nil && strings.HasPrefix(name, "nomad_iis") {
					_ = ch.Kill()
				}
			}
		}
	}
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}

// Restart stops the client agent (its tasks keep running, and the plugin
// stops with it) and starts it again on the same data directory, as an
// operator restarts the Nomad service of a node to update the plugin. It
// returns once the node is ready and the iis driver healthy again.
func (c *Cluster) Restart(ctx context.Context) error {
	stopCtx, cancel := context.WithTimeout(ctx, c.cfg.StopTimeout)
	defer cancel()
	if err := c.stopRole(stopCtx, c.clientAgent); err != nil {
		return err
	}
	return c.startClient(ctx)
}

// PluginPIDs lists the nomad_iis processes the client runs (normally one).
func (c *Cluster) PluginPIDs(ctx context.Context) ([]int, error) {
	p := c.clientAgent.current()
	if p == nil {
		return nil, errors.New("launcher: the client is not running")
	}
	agent, err := process.NewProcessWithContext(ctx, int32(p.cmd.Process.Pid))
	if err != nil {
		return nil, fmt.Errorf("launcher: client process: %w", err)
	}
	children, err := agent.ChildrenWithContext(ctx)
	if err != nil && !errors.Is(err, process.ErrorNoChildren) {
		return nil, fmt.Errorf("launcher: children of the client: %w", err)
	}
	var pids []int
	want := filepath.Join(c.pluginDir, pluginFileName())
	for _, ch := range children {
		exe, err := ch.ExeWithContext(ctx)
		if err == nil && sameFile(exe, want) {
			pids = append(pids, int(ch.Pid))
		}
	}
	return pids, nil
}

// KillPlugin kills the plugin processes, as a crash would, and returns
// their PIDs. The client starts the plugin again by itself.
func (c *Cluster) KillPlugin(ctx context.Context) ([]int, error) {
	pids, err := c.PluginPIDs(ctx)
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

// maxLogLine is where LogTail cuts long lines.
const maxLogLine = 400

// LogTail returns the last n lines of the client's log (which has the
// plugin's lines), long lines cut.
func (c *Cluster) LogTail(n int) string { return logTail(c.clientAgent.logPath, n) }

func logTail(path string, n int) string {
	f, err := os.Open(path)
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
		line := sc.Text()
		// Some lines (consul-template's configuration) run to kilobytes.
		if len(line) > maxLogLine {
			line = line[:maxLogLine] + " [...]"
		}
		lines = append(lines, line)
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
