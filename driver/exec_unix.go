//go:build !windows

package driver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"github.com/hashicorp/nomad/plugins/drivers"
)

// On iissim (Linux, macOS) the command runs as the identity of
// exec_identity_unix.go, in its own process group (its own session with a
// terminal), which is killed when the command exits, the session ends or
// the task stops.

// execDrainTimeout bounds how long output still buffered after the
// command exited is forwarded.
const execDrainTimeout = 2 * time.Second

// lookPath finds file as a shell would with the command's PATH: a name
// with a slash is taken as it is (relative to dir), any other is searched
// in the directories of PATH.
func lookPath(file, dir string, env []string) (string, error) {
	executable := func(p string) error {
		st, err := os.Stat(p)
		switch {
		case err != nil:
			return err
		case st.IsDir():
			return errors.New("is a directory")
		case st.Mode()&0o111 == 0:
			return errors.New("is not executable")
		}
		return nil
	}
	if strings.Contains(file, "/") {
		p := file
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if err := executable(p); errors.Is(err, os.ErrNotExist) {
			return "", &commandNotFoundError{fmt.Sprintf("exec: command %q not found (in %s)", file, dir)}
		} else if err != nil {
			return "", fmt.Errorf("exec: command %q cannot be run: %v", file, err)
		}
		return p, nil
	}
	path := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, d := range filepath.SplitList(path) {
		if d == "" {
			d = "."
		}
		if !filepath.IsAbs(d) {
			d = filepath.Join(dir, d)
		}
		if p := filepath.Join(d, file); executable(p) == nil {
			return p, nil
		}
	}
	return "", &commandNotFoundError{fmt.Sprintf("exec: command %q not found in the task's PATH (%s)", file, path)}
}

// runExec runs req until it exits or ctx ends, and returns its exit result.
func runExec(ctx context.Context, req *execRequest) (*drivers.ExitResult, error) {
	path, err := lookPath(req.argv[0], req.dir, req.env)
	if err != nil {
		return nil, err
	}
	cmd := &exec.Cmd{Path: path, Args: req.argv, Dir: req.dir, Env: req.env}
	attrs := &syscall.SysProcAttr{}
	if req.ident.switchUser {
		attrs.Credential = &syscall.Credential{Uid: req.ident.uid, Gid: req.ident.gid, Groups: req.ident.groups}
	}
	if req.tty {
		return runPty(ctx, cmd, attrs, req)
	}
	return runPipes(ctx, cmd, attrs, req)
}

// runPipes runs cmd with plain pipes, in a process group of its own.
func runPipes(ctx context.Context, cmd *exec.Cmd, attrs *syscall.SysProcAttr, req *execRequest) (*drivers.ExitResult, error) {
	attrs.Setpgid = true
	cmd.SysProcAttr = attrs
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("exec: stdin pipe: %w", err)
	}
	defer inW.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		return nil, fmt.Errorf("exec: stdout pipe: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		inR.Close()
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("exec: stderr pipe: %w", err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	err = cmd.Start()
	inR.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("exec: start %q: %w", req.argv[0], err)
	}
	var wg sync.WaitGroup
	forward := func(w io.Writer, r *os.File) {
		defer wg.Done()
		defer r.Close()
		if w != nil {
			_, _ = io.Copy(w, r)
		} else {
			_, _ = io.Copy(io.Discard, r)
		}
	}
	wg.Add(2)
	go forward(req.stdout, outR)
	go forward(req.stderr, errR)
	go copyStdin(inW, req.stdin, true)

	res := waitGroupExit(ctx, cmd)
	// Background processes the command left hold the pipes open: the
	// group's end ends them; what they wrote is still forwarded.
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(execDrainTimeout):
		outR.Close()
		errR.Close()
		<-drained
	}
	return res, nil
}

// runPty runs cmd on a new pseudo terminal, as the leader of a new session
// whose controlling terminal it is. The terminal follows req.resize.
func runPty(ctx context.Context, cmd *exec.Cmd, attrs *syscall.SysProcAttr, req *execRequest) (*drivers.ExitResult, error) {
	master, slave, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("exec: open a pseudo terminal: %w", err)
	}
	defer master.Close()
	defer slave.Close() // closed at once after the start; this covers the errors
	// The user's size arrives as a resize, maybe after the command
	// started: until then the terminal has the classic size, not 0x0,
	// which many programs cannot handle.
	if err := pty.Setsize(master, &pty.Winsize{Rows: 24, Cols: 80}); err != nil {
		return nil, fmt.Errorf("exec: size the pseudo terminal: %w", err)
	}
	if req.ident.switchUser {
		// The command's user must be able to reopen its terminal (/dev/tty).
		_ = slave.Chown(int(req.ident.uid), -1)
	}
	attrs.Setsid, attrs.Setctty, attrs.Ctty = true, true, 0
	cmd.SysProcAttr = attrs
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	err = cmd.Start()
	slave.Close()
	if err != nil {
		return nil, fmt.Errorf("exec: start %q: %w", req.argv[0], err)
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		if req.stdout != nil {
			_, _ = io.Copy(req.stdout, master)
		} else {
			_, _ = io.Copy(io.Discard, master)
		}
	}()
	go copyStdin(master, req.stdin, false)
	// The resizer uses the terminal's descriptor: it ends before the
	// deferred close of master.
	resizeDone, resizerEnded := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(resizerEnded)
		followResize(master, req.resize, resizeDone)
	}()
	defer func() {
		close(resizeDone)
		<-resizerEnded
	}()

	res := waitGroupExit(ctx, cmd)
	// The terminal reports EIO once nothing holds it any more; give
	// output in flight a bound, then let the deferred close end the copy.
	_ = master.SetReadDeadline(time.Now().Add(execDrainTimeout))
	<-copied
	return res, nil
}

// followResize applies the terminal sizes of ch to master until done.
func followResize(master *os.File, ch <-chan drivers.TerminalSize, done <-chan struct{}) {
	if ch == nil {
		return
	}
	for {
		select {
		case <-done:
			return
		case sz, ok := <-ch:
			if !ok {
				return
			}
			if sz.Height > 0 && sz.Width > 0 && sz.Height <= 0xffff && sz.Width <= 0xffff {
				_ = pty.Setsize(master, &pty.Winsize{Rows: uint16(sz.Height), Cols: uint16(sz.Width)})
			}
		}
	}
}

// copyStdin forwards the session's stdin to the command. With closeAtEOF
// (pipes) the command sees end of input when the session's stdin closes;
// a terminal stays open (the user ends the shell).
func copyStdin(dst *os.File, src io.Reader, closeAtEOF bool) {
	if src == nil {
		if closeAtEOF {
			dst.Close()
		}
		return
	}
	_, _ = io.Copy(dst, src)
	if closeAtEOF {
		dst.Close()
	}
}

// waitGroupExit waits for cmd to exit, killing its process group when ctx
// ends first, then kills whatever is left of the group, and returns the
// exit result: the exit status, or 128+signal for a command a signal ended.
func waitGroupExit(ctx context.Context, cmd *exec.Cmd) *drivers.ExitResult {
	pgid := cmd.Process.Pid
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	var err error
	select {
	case err = <-waited:
	case <-ctx.Done():
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		err = <-waited
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	res := &drivers.ExitResult{}
	st := cmd.ProcessState
	if st == nil {
		res.ExitCode, res.Err = 1, err
		return res
	}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		res.Signal = int(ws.Signal())
		res.ExitCode = 128 + res.Signal
		return res
	}
	res.ExitCode = st.ExitCode()
	return res
}
