//go:build windows

package driver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"unsafe"

	"github.com/hashicorp/nomad/plugins/drivers"
	"golang.org/x/sys/windows"
)

// On Windows the command runs with the primary token of
// exec_identity_windows.go. The process is created suspended with
// CreateProcessAsUser (which needs the SE_INCREASE_QUOTA_NAME privilege,
// and SE_ASSIGNPRIMARYTOKEN_NAME for a token of another user: both are held
// by LocalSystem, the account Nomad clients run as), put into a job object
// with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, and only then resumed, so that
// every process it starts is in the job and ends with the session. With a
// terminal it is attached to a pseudo console (ConPTY, Windows Server 2019
// and later).

// envValue is the value of name in env (case-insensitively), or "".
func envValue(env []string, name string) string {
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// lookPath finds file as cmd.exe would with the command's PATH and
// PATHEXT: a name with a path separator is taken as it is (relative to
// dir), any other is searched in dir, then in the directories of PATH; a
// name without extension is tried with each extension of PATHEXT.
func lookPath(file, dir string, env []string) (string, error) {
	exts := []string{""}
	if filepath.Ext(file) == "" {
		pathext := envValue(env, "PATHEXT")
		if pathext == "" {
			pathext = ".COM;.EXE;.BAT;.CMD"
		}
		exts = exts[:0]
		for _, e := range strings.Split(pathext, ";") {
			if e = strings.TrimSpace(e); e != "" {
				exts = append(exts, strings.ToLower(e))
			}
		}
	}
	find := func(base string) (string, bool) {
		for _, e := range exts {
			p := base + e
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p, true
			}
		}
		return "", false
	}
	if strings.ContainsAny(file, `\/:`) {
		p := file
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		if found, ok := find(p); ok {
			return found, nil
		}
		return "", &commandNotFoundError{fmt.Sprintf("exec: command %q not found (in %s)", file, dir)}
	}
	path := envValue(env, "PATH")
	for _, d := range append([]string{dir}, filepath.SplitList(path)...) {
		if d == "" {
			continue
		}
		if found, ok := find(filepath.Join(d, file)); ok {
			return found, nil
		}
	}
	return "", &commandNotFoundError{fmt.Sprintf("exec: command %q not found in the task directory or the task's PATH (%s)", file, path)}
}

// envBlock is env as a Unicode environment block, sorted by name without
// regard to case as CreateProcess expects.
func envBlock(env []string) (*uint16, error) {
	sorted := append([]string(nil), env...)
	sort.SliceStable(sorted, func(i, j int) bool {
		ki, _, _ := strings.Cut(sorted[i], "=")
		kj, _, _ := strings.Cut(sorted[j], "=")
		return strings.ToUpper(ki) < strings.ToUpper(kj)
	})
	var block []uint16
	for _, kv := range sorted {
		if strings.ContainsRune(kv, 0) {
			continue
		}
		u, err := windows.UTF16FromString(kv)
		if err != nil {
			return nil, err
		}
		block = append(block, u...)
	}
	block = append(block, 0)
	if len(block) == 1 {
		block = append(block, 0)
	}
	return &block[0], nil
}

// newKillJob creates a job object whose processes all end when its last
// handle closes.
func newKillJob() (windows.Handle, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0, fmt.Errorf("exec: create a job object: %w", err)
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{}
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation, uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return 0, fmt.Errorf("exec: limit the job object: %w", err)
	}
	return job, nil
}

// pipe is an anonymous pipe whose child end (read end when childReads) is
// inheritable and whose parent end is not.
func pipe(childReads bool) (child, parent windows.Handle, err error) {
	var r, w windows.Handle
	sa := &windows.SecurityAttributes{InheritHandle: 1}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	if err := windows.CreatePipe(&r, &w, sa, 0); err != nil {
		return 0, 0, err
	}
	child, parent = w, r
	if childReads {
		child, parent = r, w
	}
	if err := windows.SetHandleInformation(parent, windows.HANDLE_FLAG_INHERIT, 0); err != nil {
		windows.CloseHandle(r)
		windows.CloseHandle(w)
		return 0, 0, err
	}
	return child, parent, nil
}

// closeAll closes handles, ignoring zero ones.
func closeAll(hs ...windows.Handle) {
	for _, h := range hs {
		if h != 0 {
			windows.CloseHandle(h)
		}
	}
}

// runExec runs req until it exits or ctx ends, and returns its exit result.
func runExec(ctx context.Context, req *execRequest) (*drivers.ExitResult, error) {
	path, err := lookPath(req.argv[0], req.dir, req.env)
	if err != nil {
		return nil, err
	}
	args := append([]string{path}, req.argv[1:]...)
	cmdline, err := windows.UTF16PtrFromString(windows.ComposeCommandLine(args))
	if err != nil {
		return nil, fmt.Errorf("exec: command line: %w", err)
	}
	dir, err := windows.UTF16PtrFromString(req.dir)
	if err != nil {
		return nil, fmt.Errorf("exec: directory: %w", err)
	}
	env, err := envBlock(req.env)
	if err != nil {
		return nil, fmt.Errorf("exec: environment: %w", err)
	}
	job, err := newKillJob()
	if err != nil {
		return nil, err
	}
	defer windows.CloseHandle(job)
	if req.tty {
		return runConPty(ctx, req, job, cmdline, dir, env)
	}
	return runPipes(ctx, req, job, cmdline, dir, env)
}

// start creates the process suspended as req's identity with si, puts it
// into job and resumes it.
func start(req *execRequest, job windows.Handle, cmdline, dir, env *uint16, si *windows.StartupInfoEx, inherit bool, flags uint32) (windows.Handle, error) {
	si.Cb = uint32(unsafe.Sizeof(*si))
	// An empty desktop name, not NULL: with NULL the process would inherit
	// the agent's window station and desktop, which another account may not
	// open (its DLLs then fail to initialise); with "" it connects to the
	// window station of its own logon session (CreateProcessAsUser,
	// lpStartupInfo; "Process Connection to a Window Station").
	desktop, err := windows.UTF16PtrFromString("")
	if err != nil {
		return 0, err
	}
	si.Desktop = desktop
	flags |= windows.CREATE_SUSPENDED | windows.CREATE_UNICODE_ENVIRONMENT | windows.EXTENDED_STARTUPINFO_PRESENT
	var pi windows.ProcessInformation
	if err := windows.CreateProcessAsUser(req.ident.token, nil, cmdline, nil, nil, inherit, flags, env, dir, &si.StartupInfo, &pi); err != nil {
		if errors.Is(err, windows.ERROR_PRIVILEGE_NOT_HELD) {
			return 0, fmt.Errorf("%w: cannot start %q as %s: the plugin lacks the privilege to start processes as another account (run the Nomad client as LocalSystem, or set exec_as_agent = true): %v", ErrExecUnavailable, req.argv[0], req.ident.name, err)
		}
		return 0, fmt.Errorf("exec: start %q as %s: %w", req.argv[0], req.ident.name, err)
	}
	defer windows.CloseHandle(pi.Thread)
	if err := windows.AssignProcessToJobObject(job, pi.Process); err != nil {
		_ = windows.TerminateProcess(pi.Process, 1)
		windows.CloseHandle(pi.Process)
		return 0, fmt.Errorf("exec: put %q into its job object: %w", req.argv[0], err)
	}
	if _, err := windows.ResumeThread(pi.Thread); err != nil {
		_ = windows.TerminateJobObject(job, 1)
		windows.CloseHandle(pi.Process)
		return 0, fmt.Errorf("exec: resume %q: %w", req.argv[0], err)
	}
	return pi.Process, nil
}

// runPipes runs the command with plain pipes.
func runPipes(ctx context.Context, req *execRequest, job windows.Handle, cmdline, dir, env *uint16) (*drivers.ExitResult, error) {
	inChild, inParent, err := pipe(true)
	if err != nil {
		return nil, fmt.Errorf("exec: stdin pipe: %w", err)
	}
	outChild, outParent, err := pipe(false)
	if err != nil {
		closeAll(inChild, inParent)
		return nil, fmt.Errorf("exec: stdout pipe: %w", err)
	}
	errChild, errParent, err := pipe(false)
	if err != nil {
		closeAll(inChild, inParent, outChild, outParent)
		return nil, fmt.Errorf("exec: stderr pipe: %w", err)
	}
	attrs, err := windows.NewProcThreadAttributeList(1)
	if err != nil {
		closeAll(inChild, inParent, outChild, outParent, errChild, errParent)
		return nil, fmt.Errorf("exec: attribute list: %w", err)
	}
	defer attrs.Delete()
	// Only the three pipe ends are inherited, none of the plugin's other handles.
	handles := []windows.Handle{inChild, outChild, errChild}
	if err := attrs.Update(windows.PROC_THREAD_ATTRIBUTE_HANDLE_LIST, unsafe.Pointer(&handles[0]), uintptr(len(handles))*unsafe.Sizeof(handles[0])); err != nil {
		closeAll(inChild, inParent, outChild, outParent, errChild, errParent)
		return nil, fmt.Errorf("exec: attribute list: %w", err)
	}
	si := &windows.StartupInfoEx{ProcThreadAttributeList: attrs.List()}
	si.Flags = windows.STARTF_USESTDHANDLES
	si.StdInput, si.StdOutput, si.StdErr = inChild, outChild, errChild
	proc, err := start(req, job, cmdline, dir, env, si, true, windows.CREATE_NO_WINDOW)
	closeAll(inChild, outChild, errChild)
	if err != nil {
		closeAll(inParent, outParent, errParent)
		return nil, err
	}
	defer windows.CloseHandle(proc)

	stdin := os.NewFile(uintptr(inParent), "exec-stdin")
	stdout := os.NewFile(uintptr(outParent), "exec-stdout")
	stderr := os.NewFile(uintptr(errParent), "exec-stderr")
	var wg sync.WaitGroup
	wg.Add(2)
	go forwardOutput(&wg, req.stdout, stdout)
	go forwardOutput(&wg, req.stderr, stderr)
	go func() {
		if req.stdin != nil {
			_, _ = io.Copy(stdin, req.stdin)
		}
		stdin.Close()
	}()

	res := waitJob(ctx, proc, job)
	// Every process that held the pipes is in the job, which has ended:
	// the output pipes report their end once drained.
	wg.Wait()
	return res, nil
}

// forwardOutput copies r to w (or discards it) and closes r.
func forwardOutput(wg *sync.WaitGroup, w io.Writer, r *os.File) {
	defer wg.Done()
	defer r.Close()
	if w == nil {
		w = io.Discard
	}
	_, _ = io.Copy(w, r)
}

// runConPty runs the command attached to a new pseudo console that
// follows req.resize.
func runConPty(ctx context.Context, req *execRequest, job windows.Handle, cmdline, dir, env *uint16) (*drivers.ExitResult, error) {
	var ptyIn, inParent, outParent, ptyOut windows.Handle
	if err := windows.CreatePipe(&ptyIn, &inParent, nil, 0); err != nil {
		return nil, fmt.Errorf("exec: pseudo console input pipe: %w", err)
	}
	if err := windows.CreatePipe(&outParent, &ptyOut, nil, 0); err != nil {
		closeAll(ptyIn, inParent)
		return nil, fmt.Errorf("exec: pseudo console output pipe: %w", err)
	}
	var hpc windows.Handle
	if err := windows.CreatePseudoConsole(windows.Coord{X: 80, Y: 25}, ptyIn, ptyOut, 0, &hpc); err != nil {
		closeAll(ptyIn, inParent, outParent, ptyOut)
		return nil, fmt.Errorf("exec: create a pseudo console (Windows Server 2019 or later is needed for -t): %w", err)
	}
	// The pseudo console holds its own copies of its ends of the pipes.
	closeAll(ptyIn, ptyOut)

	output := os.NewFile(uintptr(outParent), "exec-conpty-out")
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		w := req.stdout
		if w == nil {
			w = io.Discard
		}
		_, _ = io.Copy(w, output)
		output.Close()
	}()
	// ClosePseudoConsole may wait until its last output was read (before
	// Windows 11 24H2): it runs while the copy above still drains.
	closed := false
	closeConsole := func() {
		if !closed {
			closed = true
			windows.ClosePseudoConsole(hpc)
		}
	}
	defer func() {
		closeConsole()
		<-copied
	}()

	attrs, err := windows.NewProcThreadAttributeList(1)
	if err != nil {
		closeAll(inParent)
		return nil, fmt.Errorf("exec: attribute list: %w", err)
	}
	defer attrs.Delete()
	// The attribute's value is the HPCON itself, not a pointer to it; HPCON
	// is memory of kernel32, never of Go's heap.
	hpcValue := *(*unsafe.Pointer)(unsafe.Pointer(&hpc))
	if err := attrs.Update(windows.PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE, hpcValue, unsafe.Sizeof(hpc)); err != nil {
		closeAll(inParent)
		return nil, fmt.Errorf("exec: attribute list: %w", err)
	}
	si := &windows.StartupInfoEx{ProcThreadAttributeList: attrs.List()}
	proc, err := start(req, job, cmdline, dir, env, si, false, 0)
	if err != nil {
		closeAll(inParent)
		return nil, err
	}
	defer windows.CloseHandle(proc)

	input := os.NewFile(uintptr(inParent), "exec-conpty-in")
	defer input.Close()
	go func() {
		if req.stdin != nil {
			_, _ = io.Copy(input, req.stdin)
		}
	}()
	// The resizer uses the pseudo console: it ends before the deferred
	// ClosePseudoConsole.
	resizeDone, resizerEnded := make(chan struct{}), make(chan struct{})
	defer func() {
		close(resizeDone)
		<-resizerEnded
	}()
	go func() {
		defer close(resizerEnded)
		for {
			select {
			case <-resizeDone:
				return
			case sz, ok := <-req.resize:
				if !ok {
					return
				}
				if sz.Width > 0 && sz.Height > 0 && sz.Width <= 0x7fff && sz.Height <= 0x7fff {
					_ = windows.ResizePseudoConsole(hpc, windows.Coord{X: int16(sz.Width), Y: int16(sz.Height)})
				}
			}
		}
	}()

	res := waitJob(ctx, proc, job)
	return res, nil
}

// waitJob waits for proc to exit, ending the whole job when ctx ends
// first, then ends whatever is left in the job, and returns the exit code.
func waitJob(ctx context.Context, proc, job windows.Handle) *drivers.ExitResult {
	exited := make(chan struct{})
	go func() {
		_, _ = windows.WaitForSingleObject(proc, windows.INFINITE)
		close(exited)
	}()
	select {
	case <-exited:
	case <-ctx.Done():
		_ = windows.TerminateJobObject(job, 1)
		<-exited
	}
	_ = windows.TerminateJobObject(job, 1)
	var code uint32
	if err := windows.GetExitCodeProcess(proc, &code); err != nil {
		return &drivers.ExitResult{ExitCode: 1, Err: fmt.Errorf("read the exit code: %w", err)}
	}
	return &drivers.ExitResult{ExitCode: int(code)}
}
