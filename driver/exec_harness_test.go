//go:build !windows

package driver

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins/drivers"
	dproto "github.com/hashicorp/nomad/plugins/drivers/proto"
	dtestutil "github.com/hashicorp/nomad/plugins/drivers/testutils"
	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/shoenig/test/must"
)

// execStream is the client side of one exec session in the tests: what
// the test sends (stdin, terminal sizes) goes through in, what the driver
// sends back is collected.
type execStream struct {
	ctx context.Context
	in  chan *drivers.ExecTaskStreamingRequestMsg

	mu       sync.Mutex
	stdout   strings.Builder
	stderr   strings.Builder
	exitCode int
	exited   bool
	// changed is signalled on every message from the driver.
	changed chan struct{}
}

func newExecStream(ctx context.Context) *execStream {
	return &execStream{ctx: ctx, in: make(chan *drivers.ExecTaskStreamingRequestMsg, 16), changed: make(chan struct{}, 1), exitCode: -1}
}

func (s *execStream) Recv() (*drivers.ExecTaskStreamingRequestMsg, error) {
	select {
	case m, ok := <-s.in:
		if !ok {
			return nil, io.EOF
		}
		return m, nil
	case <-s.ctx.Done():
		return nil, io.EOF
	}
}

func (s *execStream) Send(m *drivers.ExecTaskStreamingResponseMsg) error {
	s.mu.Lock()
	switch {
	case m.Stdout != nil && m.Stdout.Data != nil:
		s.stdout.Write(m.Stdout.Data)
	case m.Stderr != nil && m.Stderr.Data != nil:
		s.stderr.Write(m.Stderr.Data)
	case m.Exited && m.Result != nil:
		s.exited, s.exitCode = true, int(m.Result.ExitCode)
	}
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default:
	}
	return nil
}

// stdin sends data, and closes stdin when close is set.
func (s *execStream) stdin(data string, close bool) {
	if data != "" {
		s.in <- &drivers.ExecTaskStreamingRequestMsg{Stdin: &dproto.ExecTaskStreamingIOOperation{Data: []byte(data)}}
	}
	if close {
		s.in <- &drivers.ExecTaskStreamingRequestMsg{Stdin: &dproto.ExecTaskStreamingIOOperation{Close: true}}
	}
}

// resize sends a terminal size.
func (s *execStream) resize(rows, cols int) {
	s.in <- &drivers.ExecTaskStreamingRequestMsg{TtySize: &dproto.ExecTaskStreamingRequest_TerminalSize{Height: int32(rows), Width: int32(cols)}}
}

// output returns what the command wrote so far.
func (s *execStream) output() (stdout, stderr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stdout.String(), s.stderr.String()
}

// waitOutput waits until stdout contains want.
func (s *execStream) waitOutput(t *testing.T, want string) {
	t.Helper()
	for {
		if out, _ := s.output(); strings.Contains(out, want) {
			return
		}
		select {
		case <-s.changed:
		case <-s.ctx.Done():
			out, errOut := s.output()
			t.Fatalf("stdout never contained %q: stdout %q, stderr %q", want, out, errOut)
		}
	}
}

// execResult is a finished exec session.
type execResult struct {
	exitCode int
	stdout   string
	stderr   string
	err      error
}

// startExec runs cmd in the task over the plugin's gRPC interface (as the
// Nomad client does) and returns the session and a channel with its end.
func startExec(t *testing.T, h *dtestutil.DriverHarness, taskID string, tty bool, cmd ...string) (*execStream, <-chan execResult, context.CancelFunc) {
	t.Helper()
	raw, ok := h.DriverPlugin.(drivers.ExecTaskStreamingRawDriver)
	must.True(t, ok, must.Sprint("the plugin client has no streaming exec"))
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	t.Cleanup(cancel)
	s := newExecStream(ctx)
	done := make(chan execResult, 1)
	go func() {
		err := raw.ExecTaskStreamingRaw(ctx, taskID, cmd, tty, s)
		out, errOut := s.output()
		s.mu.Lock()
		code := s.exitCode
		s.mu.Unlock()
		done <- execResult{exitCode: code, stdout: out, stderr: errOut, err: err}
	}()
	return s, done, cancel
}

// runExecCmd runs cmd with stdin (closed after it) and waits for its end.
func runExecCmd(t *testing.T, h *dtestutil.DriverHarness, taskID, stdin string, cmd ...string) execResult {
	t.Helper()
	s, done, _ := startExec(t, h, taskID, false, cmd...)
	s.stdin(stdin, true)
	select {
	case r := <-done:
		return r
	case <-time.After(waitTimeout):
		t.Fatalf("exec %q did not end", cmd)
		return execResult{}
	}
}

// execNode is a node with one running site task and a driver whose log
// (the audit lines) the test reads.
type execNode struct {
	d     *Driver
	h     *dtestutil.DriverHarness
	tt    *testTask
	log   *testkit.SyncBuffer
	poolN string
}

// newExecNode starts a site task on a fresh iissim node.
func newExecNode(t *testing.T, mutate ...func(*DriverConfig)) *execNode {
	t.Helper()
	n := newSimNode(t)
	log := &testkit.SyncBuffer{}
	d, h := n.newHarnessLogging(t, hclog.New(&hclog.LoggerOptions{Output: log, Level: hclog.Info}), mutate...)

	tt := newTask(t, h, "web", siteHCL, map[string]string{"local/index.html": "hi"})
	tt.cfg.Env["NOMAD_TASK_NAME"] = "web"
	tt.cfg.Env["NOMAD_ALLOC_ID"] = tt.cfg.AllocID
	startTask(t, h, tt)
	t.Cleanup(func() { _ = h.DestroyTask(tt.cfg.ID, true) })
	th, ok := d.tasks.Get(tt.cfg.ID)
	must.True(t, ok)
	return &execNode{d: d, h: h, tt: tt, log: log, poolN: th.execPool()}
}

func TestExec_OutputExitCodeAndAudit(t *testing.T) {
	t.Parallel()
	n := newExecNode(t)
	must.SliceEmpty(t, poolState(t, n.d.IIS(), n.poolN).WorkerProcesses, must.Sprint("an OnDemand pool runs no worker before its first request"))

	r := runExecCmd(t, n.h, n.tt.cfg.ID, "", "/bin/sh", "-c", "echo to stdout; echo to stderr >&2; exit 3")
	must.NoError(t, r.err)
	must.Eq(t, 3, r.exitCode)
	must.Eq(t, "to stdout\n", r.stdout)
	must.Eq(t, "to stderr\n", r.stderr)

	// The exec started the pool's worker to take its identity.
	workers := poolState(t, n.d.IIS(), n.poolN).WorkerProcesses
	must.Len(t, 1, workers)
	audit := n.log.String()
	must.StrContains(t, audit, "iis: exec: ")
	must.StrContains(t, audit, "task_id="+n.tt.cfg.ID)
	must.StrContains(t, audit, "task_name=web")
	must.StrContains(t, audit, `command=["/bin/sh", "-c", "echo to stdout; echo to stderr >&2; exit 3"]`)
	must.StrContains(t, audit, "exit_code=3")
	must.StrContains(t, audit, "duration=")
	must.StrContains(t, audit, "the user of worker "+strconv.Itoa(workers[0].ProcessID)+" of application pool "+n.poolN)
}

func TestExec_Stdin(t *testing.T) {
	t.Parallel()
	n := newExecNode(t)
	r := runExecCmd(t, n.h, n.tt.cfg.ID, "first line\nsecond line\n", "/bin/sh", "-c", "read a; read b; echo \"got $b/$a\"; cat")
	must.NoError(t, r.err)
	must.Eq(t, 0, r.exitCode)
	must.Eq(t, "got second line/first line\n", r.stdout)
}

func TestExec_EnvironmentDirectoryAndIdentity(t *testing.T) {
	t.Parallel()
	n := newExecNode(t)
	r := runExecCmd(t, n.h, n.tt.cfg.ID, "", "/bin/sh", "-c", "pwd; id -u; env")
	must.NoError(t, r.err)
	must.Eq(t, 0, r.exitCode, must.Sprint(r.stderr))
	lines := strings.Split(r.stdout, "\n")
	want, err := filepath.EvalSymlinks(n.tt.taskDir())
	must.NoError(t, err)
	got, err := filepath.EvalSymlinks(lines[0])
	must.NoError(t, err)
	must.Eq(t, want, got)

	// iissim runs its workers as the user that started it: the identity is
	// that user, found through the worker.
	workers := poolState(t, n.d.IIS(), n.poolN).WorkerProcesses
	must.Len(t, 1, workers)
	must.Eq(t, strconv.Itoa(workerUID(t, workers[0].ProcessID)), lines[1])

	env := map[string]string{}
	for _, l := range lines[2:] {
		if k, v, ok := strings.Cut(l, "="); ok {
			env[k] = v
		}
	}
	must.Eq(t, "hello from nomad", env["GREETING"])
	must.Eq(t, "web", env["NOMAD_TASK_NAME"])
	must.Eq(t, n.tt.cfg.AllocID, env["NOMAD_ALLOC_ID"])
	must.Eq(t, filepath.Join(n.tt.taskDir(), "tmp"), env["TMP"])
	must.Eq(t, filepath.Join(n.tt.taskDir(), "tmp"), env["TEMP"])
	must.Eq(t, os.Getenv("PATH"), env["PATH"], must.Sprint("the rest is the identity's own environment"))
}

// workerUID is the effective user id of process pid.
func workerUID(t *testing.T, pid int) int {
	t.Helper()
	ident, err := identityOfWorker(pid, "pool")
	must.NoError(t, err)
	return int(ident.uid)
}

func TestExec_PtyFollowsResize(t *testing.T) {
	t.Parallel()
	n := newExecNode(t)
	script := `until [ "$(stty size)" = "30 100" ]; do sleep 0.05; done; echo first; tty; read x; ` +
		`until [ "$(stty size)" = "50 132" ]; do sleep 0.05; done; echo second; exit 7`
	s, done, _ := startExec(t, n.h, n.tt.cfg.ID, true, "/bin/sh", "-c", script)
	s.resize(30, 100)
	s.waitOutput(t, "first")
	s.resize(50, 132)
	s.stdin("go\n", false)
	r := <-done
	must.NoError(t, r.err)
	must.Eq(t, 7, r.exitCode)
	must.StrContains(t, r.stdout, "first\r\n")
	must.StrContains(t, r.stdout, "/dev/", must.Sprint("tty names the terminal"))
	must.StrContains(t, r.stdout, "second\r\n")
	must.Eq(t, "", r.stderr, must.Sprint("a terminal has one output stream"))
}

func TestExec_NoTtyHasNoTerminal(t *testing.T) {
	t.Parallel()
	n := newExecNode(t)
	r := runExecCmd(t, n.h, n.tt.cfg.ID, "", "tty")
	must.NoError(t, r.err)
	must.Eq(t, 1, r.exitCode)
	must.StrContains(t, r.stdout, "not a tty")
}

func TestExec_StoppedPool(t *testing.T) {
	t.Parallel()
	n := newExecNode(t)
	must.NoError(t, n.h.SignalTask(n.tt.cfg.ID, "STOP"))
	r := runExecCmd(t, n.h, n.tt.cfg.ID, "", "/bin/sh", "-c", "echo ran")
	must.NoError(t, r.err)
	must.Eq(t, exitCannotRun, r.exitCode)
	must.Eq(t, "", r.stdout, must.Sprint("the command did not run"))
	must.StrHasPrefix(t, "nomad-iis: ", r.stderr)
	must.StrContains(t, r.stderr, "application pool "+n.poolN+" is stopped")
	must.StrContains(t, r.stderr, "nomad alloc signal -s START")
	must.StrContains(t, r.stderr, "exec_as_agent")
	must.StrContains(t, n.log.String(), "exec refused")
}

func TestExec_AsAgentWithStoppedPool(t *testing.T) {
	t.Parallel()
	n := newExecNode(t, func(c *DriverConfig) { c.ExecAsAgent = true })
	must.NoError(t, n.h.SignalTask(n.tt.cfg.ID, "STOP"))
	r := runExecCmd(t, n.h, n.tt.cfg.ID, "", "id", "-u")
	must.NoError(t, r.err)
	must.Eq(t, 0, r.exitCode)
	must.Eq(t, strconv.Itoa(os.Geteuid())+"\n", r.stdout)
	must.StrContains(t, n.log.String(), "the agent's account: exec_as_agent is set")
	must.SliceEmpty(t, poolState(t, n.d.IIS(), n.poolN).WorkerProcesses, must.Sprint("exec as the agent starts no worker"))
}

func TestExec_CommandNotFound(t *testing.T) {
	t.Parallel()
	n := newExecNode(t)
	r := runExecCmd(t, n.h, n.tt.cfg.ID, "", "no-such-command-here", "x")
	must.NoError(t, r.err)
	must.Eq(t, exitNotFound, r.exitCode)
	must.StrContains(t, r.stderr, `nomad-iis: exec: command "no-such-command-here" not found in the task's PATH`)
	must.StrContains(t, n.log.String(), "exec failed")

	r = runExecCmd(t, n.h, n.tt.cfg.ID, "", "./local/missing.sh")
	must.NoError(t, r.err)
	must.Eq(t, exitNotFound, r.exitCode)
	must.StrContains(t, r.stderr, `command "./local/missing.sh" not found`)

	r = runExecCmd(t, n.h, n.tt.cfg.ID, "", "./local/index.html")
	must.NoError(t, r.err)
	must.Eq(t, exitCannotRun, r.exitCode)
	must.StrContains(t, r.stderr, `command "./local/index.html" cannot be run: is not executable`)
}

func TestExec_SessionEndKillsProcessTree(t *testing.T) {
	t.Parallel()
	n := newExecNode(t)
	s, done, cancel := startExec(t, n.h, n.tt.cfg.ID, false, "/bin/sh", "-c", "sleep 600 & echo child $!; wait")
	s.waitOutput(t, "\n")
	out, _ := s.output()
	pid, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(out, "child ")))
	must.NoError(t, err)
	must.True(t, processAlive(pid))
	cancel()
	<-done
	testkit.Eventually(t, "the command's child ends with the session", func() bool { return !processAlive(pid) })
}

func TestExec_TaskStopEndsExec(t *testing.T) {
	t.Parallel()
	n := newExecNode(t)
	s, done, _ := startExec(t, n.h, n.tt.cfg.ID, true, "/bin/sh", "-c", "echo started; exec sleep 600")
	s.waitOutput(t, "started")
	must.NoError(t, n.h.StopTask(n.tt.cfg.ID, 5*time.Second, "SIGINT"))
	r := <-done
	must.NoError(t, r.err)
	must.Eq(t, 128+9, r.exitCode)

	r = runExecCmd(t, n.h, n.tt.cfg.ID, "", "/bin/true")
	must.NoError(t, r.err)
	must.Eq(t, exitCannotRun, r.exitCode)
	must.StrContains(t, r.stderr, "the task has exited")
}

func TestExec_ExecTask(t *testing.T) {
	t.Parallel()
	n := newExecNode(t)
	res, err := n.h.ExecTask(n.tt.cfg.ID, []string{"/bin/sh", "-c", "echo $GREETING; echo oops >&2; exit 4"}, 10*time.Second)
	must.NoError(t, err)
	must.Eq(t, "hello from nomad\n", string(res.Stdout))
	must.Eq(t, "oops\n", string(res.Stderr))
	must.Eq(t, 4, res.ExitResult.ExitCode)
}

// TestExec_Conformance runs Nomad's own exec conformance cases (output,
// streaming, stdin, stty with and without a terminal, children of a
// terminal session).
func TestExec_Conformance(t *testing.T) {
	t.Parallel()
	n := newExecNode(t)
	dtestutil.TestExecTaskStreamingBasicResponses(t, n.h, n.tt.cfg.ID)
}

func TestExec_CapabilityReported(t *testing.T) {
	t.Parallel()
	n := newSimNode(t)
	_, h := n.newHarness(t)
	caps, err := h.Capabilities()
	must.NoError(t, err)
	must.True(t, caps.Exec)
}
