package ps

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

const (
	// maxFrameBytes bounds one stdout line. A longer line is skipped whole,
	// so a runaway backend cannot exhaust the plugin's memory.
	maxFrameBytes = 256 << 20
	// maxStderrLineBytes bounds one stderr line kept for the log.
	maxStderrLineBytes = 16 << 10
	// stderrTailLines is how many stderr lines are kept for error messages.
	stderrTailLines = 8
	// outputGrace bounds the wait for the end of the backend's output once it
	// has exited: a grandchild that inherited the pipes may keep them open.
	outputGrace = 2 * time.Second
)

// process is one running backend: the child, the goroutines that read its
// stdout and stderr, and the one that waits for its exit.
type process struct {
	log       hclog.Logger
	cmd       *exec.Cmd
	pid       int
	stdin     io.WriteCloser
	startedAt time.Time

	// ready is closed when the ready frame arrived.
	ready chan struct{}
	// exited is closed once the child has exited and its output is read.
	exited chan struct{}
	// readyTimer kills the child when it is not ready within the start timeout.
	readyTimer *time.Timer

	// mu guards the fields below.
	mu sync.Mutex
	// wantID and wantCh: the response id awaited and where it goes.
	wantID uint64
	wantCh chan Response
	// isReady is true once the ready frame arrived; info is its result.
	isReady bool
	info    ConnectionInfo
	// killReason says why the host ended the child ("" when it ended on its own).
	killReason string
	// exitErr is the result of Wait, valid once exited is closed.
	exitErr error
	// stderrTail holds the last lines of stderr.
	stderrTail []string
}

// startProcess starts the backend described by cfg. onExit runs once the
// child has exited and its output has been read.
func startProcess(cfg *HostConfig, log hclog.Logger, onExit func(*process)) (*process, error) {
	cmd := exec.Command(cfg.Path, cfg.Args...)
	cmd.Dir = cfg.Dir
	if len(cfg.Env) > 0 {
		cmd.Env = append(os.Environ(), cfg.Env...)
	}
	cmd.SysProcAttr = sysProcAttr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	// The child writes straight into pipes of our own, so that Wait reports
	// its exit at once and the readers still get every byte it wrote.
	outR, outW, err := os.Pipe()
	if err != nil {
		_ = stdin.Close()
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeAll(stdin, outR, outW)
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	if err := cmd.Start(); err != nil {
		closeAll(stdin, outR, outW, errR, errW)
		return nil, err
	}
	closeAll(outW, errW)

	p := &process{
		log:       log.With("pid", cmd.Process.Pid),
		cmd:       cmd,
		pid:       cmd.Process.Pid,
		stdin:     stdin,
		startedAt: time.Now(),
		ready:     make(chan struct{}),
		exited:    make(chan struct{}),
		wantID:    ReadyID,
	}
	p.readyTimer = time.AfterFunc(cfg.StartTimeout, func() {
		p.kill(fmt.Sprintf("did not become ready within %s", cfg.StartTimeout))
	})
	outDone, errDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(outDone)
		p.readStdout(outR)
	}()
	go func() {
		defer close(errDone)
		p.readStderr(errR)
	}()
	go p.wait(onExit, outDone, errDone, outR, errR)
	return p, nil
}

func closeAll(cs ...io.Closer) {
	for _, c := range cs {
		_ = c.Close()
	}
}

// wait reaps the child, lets the readers finish, then closes exited.
func (p *process) wait(onExit func(*process), outDone, errDone chan struct{}, files ...*os.File) {
	err := p.cmd.Wait()
	p.readyTimer.Stop()
	grace := time.NewTimer(outputGrace)
	defer grace.Stop()
	for _, done := range []chan struct{}{outDone, errDone} {
		select {
		case <-done:
			continue
		case <-grace.C:
			// A process the backend started holds the pipes open. Stop
			// waiting for it; closing our ends ends the readers where the
			// platform allows (not a blocked read on Windows).
			p.log.Debug("backend output still open after its exit; no longer reading it")
		}
		break
	}
	for _, f := range files {
		_ = f.Close()
	}

	p.mu.Lock()
	p.exitErr = err
	p.mu.Unlock()
	close(p.exited)
	if onExit != nil {
		onExit(p)
	}
}

// readStdout dispatches response frames and skips everything else.
func (p *process) readStdout(f *os.File) {
	r := bufio.NewReaderSize(f, 64<<10)
	for {
		line, err := readLine(r, maxFrameBytes)
		if errors.Is(err, errLineTooLong) {
			p.log.Warn("skipped an oversized line from the backend", "max_bytes", maxFrameBytes)
			continue
		}
		if len(line) > 0 {
			p.handleLine(line)
		}
		if err != nil {
			return
		}
	}
}

func (p *process) handleLine(line []byte) {
	resp, ok := DecodeResponse(line)
	if !ok {
		if text := cleanLine(line); text != "" {
			// The text goes to the debug level only: an extension script
			// may print what it should not.
			p.log.Warn("skipped stray output from the backend", "bytes", len(line))
			p.log.Debug("stray output from the backend", "output", preview(text))
		}
		return
	}
	p.mu.Lock()
	if resp.ID == ReadyID && !p.isReady && p.wantCh == nil {
		p.mu.Unlock()
		p.handleReady(resp)
		return
	}
	if p.wantCh != nil && resp.ID == p.wantID {
		p.wantCh <- resp // buffered, and cleared below: never blocks
		p.wantCh = nil
		p.mu.Unlock()
		return
	}
	want := p.wantID
	p.mu.Unlock()
	p.log.Warn("skipped a response nobody waits for", "id", resp.ID, "awaited_id", want)
}

func (p *process) handleReady(resp Response) {
	if !resp.OK {
		p.kill(fmt.Sprintf("refused to start: %s: %s", resp.Error.Kind, resp.Error.Message))
		return
	}
	var info ConnectionInfo
	if len(resp.Result) > 0 {
		if err := json.Unmarshal(resp.Result, &info); err != nil {
			p.log.Warn("ready frame without connection info", "error", err)
		}
	}
	p.readyTimer.Stop()
	p.mu.Lock()
	if p.killReason != "" {
		p.mu.Unlock()
		return
	}
	p.isReady, p.info = true, info
	p.mu.Unlock()
	p.log.Info("backend ready", "backend", info.Backend, "startup_ms", time.Since(p.startedAt).Milliseconds())
	close(p.ready)
}

// readStderr logs each line and keeps the last ones for error messages.
func (p *process) readStderr(f *os.File) {
	r := bufio.NewReaderSize(f, 16<<10)
	for {
		line, err := readLine(r, maxStderrLineBytes)
		if errors.Is(err, errLineTooLong) {
			line, err = []byte("(stderr line longer than 16 KiB skipped)"), nil
		}
		if text := cleanLine(line); text != "" {
			p.log.Debug("backend stderr", "output", text)
			p.mu.Lock()
			if len(p.stderrTail) == stderrTailLines {
				p.stderrTail = append(p.stderrTail[:0], p.stderrTail[1:]...)
			}
			p.stderrTail = append(p.stderrTail, preview(text))
			p.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// expect registers id as the awaited response and returns where it will go.
func (p *process) expect(id uint64) <-chan Response {
	ch := make(chan Response, 1)
	p.mu.Lock()
	p.wantID, p.wantCh = id, ch
	p.mu.Unlock()
	return ch
}

// send writes one frame to the child's stdin. Only the call holding the
// host's slot sends.
func (p *process) send(frame []byte) error {
	_, err := p.stdin.Write(frame)
	return err
}

// usable reports whether the process may take a call: not exited, not killed.
func (p *process) usable() bool {
	select {
	case <-p.exited:
		return false
	default:
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.killReason == ""
}

// kill ends the child at once; reason says why, for error messages.
func (p *process) kill(reason string) {
	p.mu.Lock()
	select {
	case <-p.exited:
	default:
		if p.killReason == "" {
			p.killReason = reason
		}
	}
	p.mu.Unlock()
	_ = p.cmd.Process.Kill()
	_ = p.stdin.Close()
}

// shutdown closes stdin, which a backend takes as the order to exit, and
// kills the child when it has not exited within timeout.
func (p *process) shutdown(timeout time.Duration) (killed bool) {
	_ = p.stdin.Close()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.exited:
		return false
	case <-t.C:
		p.kill("host closed")
		<-p.exited
		return true
	}
}

// describeEnd says how the process ended, as a phrase after "backend":
// "exited (exit status 3) <when>" or, when the host ended it, why
// ("did not become ready within 1m0s"). It is meaningful once exited is
// closed, or after kill.
func (p *process) describeEnd(when string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.killReason != "" {
		return p.killReason
	}
	how := "is exiting"
	select {
	case <-p.exited:
		how = "exited (exit status 0)"
		var ee *exec.ExitError
		if errors.As(p.exitErr, &ee) {
			how = fmt.Sprintf("exited (%s)", ee.String())
		} else if p.exitErr != nil {
			how = fmt.Sprintf("exited (%v)", p.exitErr)
		}
	default:
	}
	if when == "" {
		return how
	}
	return how + " " + when
}

// stderrSuffix renders the last stderr lines for an error message.
func (p *process) stderrSuffix() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return formatStderr(p.stderrTail)
}

func formatStderr(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return "; last stderr: " + strings.Join(lines, " | ")
}

func (p *process) lastStderr() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.stderrTail...)
}
