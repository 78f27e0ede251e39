package driver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/nomad-iis/nomad-iis/ps"
)

// This file is `nomad alloc exec` into an IIS task: ExecTaskStreaming and
// ExecTask. A command runs beside the site, as the site sees the machine:
// in the task directory, with the task's environment and, unless the
// operator allowed otherwise, as the identity of the task's default
// application pool. How that identity is obtained and how the process runs
// is platform code (exec_unix.go, exec_windows.go); which pool, which
// worker, which environment and the audit line are here.

var _ drivers.ExecTaskStreamingDriver = (*Driver)(nil)

// ErrExecUnavailable is wrapped by exec errors that come from the state of
// the task (a stopped pool, an identity that cannot be obtained) rather
// than from the command: the message says what to do.
var ErrExecUnavailable = errors.New("exec is not possible now")

// Exit codes of a command that could not run, as POSIX shells report them:
// the reason is written to the session's stderr (a Nomad agent does not
// pass a long error of the driver on to `nomad alloc exec`: the websocket
// close message that would carry it is limited to 123 bytes).
const (
	// exitCannotRun is the exit code of an exec that was refused or whose
	// command could not be started.
	exitCannotRun = 126
	// exitNotFound is the exit code of an exec whose command does not exist.
	exitNotFound = 127
)

// commandNotFoundError is the error of a command that does not exist.
type commandNotFoundError struct{ msg string }

func (e *commandNotFoundError) Error() string { return e.msg }

// execRequest is one command to run, resolved: what, where, with which
// environment and as whom.
type execRequest struct {
	// argv is the command and its arguments.
	argv []string
	// dir is the working directory: the task directory.
	dir string
	// env is the pool's environment over the identity's own (KEY=value).
	env []string
	// ident is who the command runs as.
	ident *execIdentity
	// tty asks for a pseudo terminal; resize carries its size changes.
	tty    bool
	resize <-chan drivers.TerminalSize
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// ExecTaskStreaming runs opts.Command in the task (`nomad alloc exec`): in
// the task directory, with the task's environment, as the identity of the
// task's default application pool (or the agent's account when the plugin
// config sets exec_as_agent). With opts.Tty the command gets a pseudo
// terminal that follows opts.ResizeCh. The command and every process it
// starts end when ctx ends (the session closed) or the task stops.
func (d *Driver) ExecTaskStreaming(ctx context.Context, taskID string, opts *drivers.ExecOptions) (*drivers.ExitResult, error) {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, drivers.ErrTaskNotFound
	}
	if opts == nil || len(opts.Command) == 0 || opts.Command[0] == "" {
		return nil, errors.New("exec: no command given; name the command to run, e.g. nomad alloc exec -task <task> <alloc> cmd.exe")
	}
	return h.exec(ctx, opts)
}

// ExecTask runs cmd in the task as ExecTaskStreaming does, without a
// terminal and without stdin, and returns its output once it exits. The
// command is killed after timeout (no limit when timeout is 0).
func (d *Driver) ExecTask(taskID string, cmd []string, timeout time.Duration) (*drivers.ExecTaskResult, error) {
	ctx := d.ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	var stdout, stderr bytes.Buffer
	res, err := d.ExecTaskStreaming(ctx, taskID, &drivers.ExecOptions{
		Command: cmd,
		Stdout:  nopWriteCloser{&stdout},
		Stderr:  nopWriteCloser{&stderr},
	})
	if err != nil {
		return nil, err
	}
	return &drivers.ExecTaskResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), ExitResult: res}, nil
}

// nopWriteCloser is a Writer with a Close that does nothing.
type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// exec resolves and runs one command, and writes its audit line.
func (h *taskHandle) exec(ctx context.Context, opts *drivers.ExecOptions) (*drivers.ExitResult, error) {
	started := time.Now()
	req, err := h.execRequest(ctx, opts)
	if err != nil {
		h.logger.Info("exec refused", "command", opts.Command, "tty", opts.Tty, "error", err, "exit_code", exitCannotRun)
		return execFailed(opts, err, exitCannotRun)
	}
	defer req.ident.close()
	if c, ok := opts.Stdin.(io.Closer); ok && c != nil {
		// Unblocks the stdin forwarder once the session is over; not
		// earlier, so that input arriving as the command exits is no
		// error of the session.
		go func() {
			<-ctx.Done()
			_ = c.Close()
		}()
	}

	// The command ends with the session (ctx), the task's exit or the
	// handle's end (DestroyTask), whichever comes first.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-h.doneCh:
		case <-h.ctx.Done():
		case <-runCtx.Done():
		}
		cancel()
	}()

	res, err := runExec(runCtx, req)
	dur := time.Since(started)
	if err != nil {
		code := exitCannotRun
		var nf *commandNotFoundError
		if errors.As(err, &nf) {
			code = exitNotFound
		}
		h.logger.Info("exec failed", "command", opts.Command, "tty", opts.Tty, "identity", req.ident.name, "dir", req.dir, "duration", dur.String(), "error", err, "exit_code", code)
		return execFailed(opts, err, code)
	}
	h.logger.Info("exec", "command", opts.Command, "tty", opts.Tty, "identity", req.ident.name, "dir", req.dir, "exit_code", res.ExitCode, "signal", res.Signal, "duration", dur.String())
	return res, nil
}

// execFailed reports an exec that could not run: err goes to the
// session's stderr (prefixed "nomad-iis: ") and the exit code is code. A
// session without stderr gets err as the error.
func execFailed(opts *drivers.ExecOptions, err error, code int) (*drivers.ExitResult, error) {
	if opts.Stderr == nil {
		return nil, err
	}
	eol := "\n"
	if opts.Tty {
		eol = "\r\n" // the user's terminal is in raw mode
	}
	if _, werr := io.WriteString(opts.Stderr, "nomad-iis: "+err.Error()+eol); werr != nil {
		return nil, err
	}
	return &drivers.ExitResult{ExitCode: code, Err: err}, nil
}

// execRequest resolves where, with what environment and as whom
// opts.Command runs.
func (h *taskHandle) execRequest(ctx context.Context, opts *drivers.ExecOptions) (*execRequest, error) {
	if !h.isRunning() {
		return nil, fmt.Errorf("%w: the task has exited; exec runs only in a running task", ErrExecUnavailable)
	}
	s, _ := h.d.backend()
	if s == nil {
		return nil, errors.New("the iis driver has no configuration yet")
	}
	var (
		ident *execIdentity
		err   error
	)
	if s.ExecAsAgent {
		ident, err = agentIdentity()
	} else {
		ident, err = h.poolIdentity(ctx)
	}
	if err != nil {
		return nil, err
	}
	env, err := h.execEnv(ident)
	if err != nil {
		ident.close()
		return nil, err
	}
	return &execRequest{
		argv:   opts.Command,
		dir:    h.state.TaskDir,
		env:    env,
		ident:  ident,
		tty:    opts.Tty,
		resize: opts.ResizeCh,
		stdin:  opts.Stdin,
		stdout: opts.Stdout,
		stderr: opts.Stderr,
	}, nil
}

// execEnv is the command's environment: the identity's own environment
// (its profile on Windows, the plugin's on iissim), then the variables the
// task's pools get (the NOMAD_* variables, the job's env block, TMP and
// TEMP in the task's tmp directory), which win.
func (h *taskHandle) execEnv(ident *execIdentity) ([]string, error) {
	base, err := ident.environ()
	if err != nil {
		return nil, fmt.Errorf("exec: read the environment of %s: %w", ident.name, err)
	}
	// Empty values are left out, as they are for the pools (see buildEnv).
	pool, _ := buildEnv(h.cfg.Env, nil, filepath.Join(h.state.TaskDir, "tmp"))
	return mergeEnv(base, pool), nil
}

// mergeEnv returns base with the variables of over added or replacing
// those of the same name (ignoring case on Windows, as Windows does).
func mergeEnv(base []string, over []ps.EnvVar) []string {
	key := func(k string) string {
		if hostSyntax.windows {
			return strings.ToUpper(k)
		}
		return k
	}
	replaced := map[string]bool{}
	for _, v := range over {
		replaced[key(v.Name)] = true
	}
	out := make([]string, 0, len(base)+len(over))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if k == "" && strings.HasPrefix(kv, "=") {
			// Windows' per-drive directories ("=C:=C:\\"): keep as they are.
			out = append(out, kv)
			continue
		}
		if !replaced[key(k)] {
			out = append(out, kv)
		}
	}
	for _, v := range over {
		out = append(out, v.Name+"="+v.Value)
	}
	return out
}
