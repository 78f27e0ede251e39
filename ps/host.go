package ps

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Defaults of HostConfig, and the host's fixed limits.
const (
	// DefaultStartTimeout bounds the wait for the ready frame. Windows
	// PowerShell importing WebAdministration on a cold machine takes seconds.
	DefaultStartTimeout = 60 * time.Second
	// DefaultCallTimeout bounds a call whose context has no deadline.
	DefaultCallTimeout = 2 * time.Minute
	// closeTimeout is how long Close waits for the backend to exit after
	// closing its input, before it kills it.
	closeTimeout = 5 * time.Second
	// restartBurst starts within restartWindow are allowed; one more is
	// refused until the oldest leaves the window, so that a backend that
	// dies at once does not become a busy fork loop.
	restartBurst  = 5
	restartWindow = time.Minute
)

// HostConfig says how to start the backend and how long to wait for it.
type HostConfig struct {
	// Path is the backend executable: powershell.exe, pwsh or iissim
	// (see PowerShellCommand and SimCommand).
	Path string
	// Args are the backend's arguments.
	Args []string
	// Env holds KEY=value pairs added to the plugin's own environment; a
	// key given here wins over the inherited one.
	Env []string
	// Dir is the backend's working directory; empty means the plugin's.
	Dir string
	// StartTimeout bounds the wait for the ready frame (default 60s).
	StartTimeout time.Duration
	// CallTimeout bounds a call whose context has no deadline (default 2m).
	CallTimeout time.Duration
	// Logger receives the host's lines and the backend's stderr (at Debug).
	// Argument values are never logged. Default: no logging.
	Logger hclog.Logger
}

// Host runs the backend process of the contract and sends it one call at a
// time. It starts the process on the first call, waits for its ready frame,
// and replaces it when it dies or hangs: the call that was in flight fails
// with an error matching ErrUnavailable, and the next call starts a new
// process. A Host is safe for concurrent use; calls queue in front of the
// process. Close stops it.
type Host struct {
	cfg HostConfig // defaults applied; immutable
	log hclog.Logger

	// slot holds a token while a call owns the process: calls are
	// serialised by sending into it. A cancelled call's token is held on
	// until the backend has answered it (see abandon).
	slot chan struct{}
	// closed is closed by Close.
	closed    chan struct{}
	closeOnce sync.Once
	// workers counts the goroutines Close waits for: one per process until
	// its exit is handled, one per abandoned call.
	workers sync.WaitGroup

	// mu guards the fields below.
	mu       sync.Mutex
	isClosed bool
	// proc is the current process; nil before the first call or after Close.
	proc *process
	// nextID is the id of the last request sent; ids increase over restarts.
	nextID uint64
	// starts are the start times within restartWindow, oldest first.
	starts []time.Time
	// lastEnd and lastStderr describe how the previous process ended.
	lastEnd    string
	lastStderr []string
	// now is the clock of the crash-loop guard (replaced in tests).
	now func() time.Time
}

// NewHost returns a host for the backend cfg describes. Nothing starts
// until the first Call.
func NewHost(cfg HostConfig) *Host {
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = DefaultCallTimeout
	}
	log := cfg.Logger
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &Host{
		cfg:    cfg,
		log:    log,
		slot:   make(chan struct{}, 1),
		closed: make(chan struct{}),
		now:    time.Now,
	}
}

var _ Caller = (*Host)(nil)

// Call sends op with args (encoded as JSON) to the backend and decodes the
// result into result, which may be nil. It waits for the calls queued before
// it, and for the backend to start if needed, within ctx; when ctx has no
// deadline, CallTimeout applies. Errors are *Error values matching
// ErrNotFound, ErrInvalidArgument, ErrConflict, ErrUnavailable or
// ErrInternal; when ctx ended the call, the error also matches ctx.Err().
func (h *Host) Call(ctx context.Context, op Op, args, result any) error {
	started := time.Now()
	id, err := h.call(ctx, op, args, result)
	kind := ""
	var e *Error
	if errors.As(err, &e) {
		kind = string(e.Kind)
	}
	h.log.Debug("call", "op", op, "id", id, "duration_ms", time.Since(started).Milliseconds(), "error_kind", kind)
	return err
}

// PID is the process id of the current backend process, 0 when none runs.
func (h *Host) PID() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.proc == nil || !h.proc.usable() {
		return 0
	}
	return h.proc.pid
}

// Close stops the backend: it closes its input, waits up to five seconds for
// it to exit, then kills it. Calls in flight or queued fail with
// ErrUnavailable ("host closed"), and so do later calls. Close returns once
// every goroutine of the host has ended.
func (h *Host) Close() error {
	var err error
	h.closeOnce.Do(func() {
		h.mu.Lock()
		h.isClosed = true
		p := h.proc
		h.proc = nil
		h.mu.Unlock()
		close(h.closed)
		if p != nil && p.shutdown(closeTimeout) {
			err = fmt.Errorf("backend (pid %d) did not exit within %s of closing its input; killed it", p.pid, closeTimeout)
		}
		h.workers.Wait()
	})
	return err
}

func (h *Host) call(ctx context.Context, op Op, args, result any) (uint64, error) {
	raw := json.RawMessage("{}")
	if args != nil {
		b, err := json.Marshal(args)
		if err != nil {
			return 0, &Error{Op: op, Kind: KindInvalidArgument, Message: fmt.Sprintf("encode arguments: %v", err)}
		}
		raw = b
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.cfg.CallTimeout)
		defer cancel()
		deadline, _ = ctx.Deadline()
	}

	select {
	case h.slot <- struct{}{}:
	case <-ctx.Done():
		return 0, unavailable(op, ctx.Err(), "gave up waiting for the previous call to finish (%v)", ctx.Err())
	case <-h.closed:
		return 0, unavailable(op, nil, "host closed")
	}
	release := true
	defer func() {
		if release {
			<-h.slot
		}
	}()

	p, err := h.backend(op)
	if err != nil {
		return 0, err
	}
	if err := h.awaitReady(ctx, op, p); err != nil {
		return 0, err
	}

	h.mu.Lock()
	h.nextID++
	id := h.nextID
	h.mu.Unlock()
	frame, err := EncodeRequest(Request{ID: id, Op: op, Args: raw})
	if err != nil {
		return id, &Error{Op: op, Kind: KindInvalidArgument, Message: fmt.Sprintf("encode request: %v", err)}
	}

	answer := p.expect(id)
	sent := make(chan error, 1)
	sentAt := time.Now()
	go func() { sent <- p.send(frame) }()
	written := false
	for {
		select {
		case err := <-sent:
			sent = nil
			// A write fails when the child is going away; its exit, or
			// the deadline, ends the wait.
			written = err == nil
		case resp := <-answer:
			return id, decodeResult(op, resp, result)
		case <-p.exited:
			select {
			case resp := <-answer:
				return id, decodeResult(op, resp, result)
			default:
			}
			return id, unavailable(op, nil, "backend %s%s", p.describeEnd("during the call"), p.stderrSuffix())
		case <-ctx.Done():
			select {
			case resp := <-answer:
				return id, decodeResult(op, resp, result)
			default:
			}
			if errors.Is(ctx.Err(), context.Canceled) && written {
				if !h.abandon(p, answer, deadline) {
					return id, unavailable(op, nil, "host closed")
				}
				release = false
				return id, unavailable(op, ctx.Err(), "call cancelled before the backend answered; the operation may still complete")
			}
			waited := roundDuration(time.Since(sentAt))
			what := fmt.Sprintf("did not answer within %s", waited)
			if errors.Is(ctx.Err(), context.Canceled) {
				what = "got only part of a request before the call was cancelled"
			}
			p.kill(fmt.Sprintf("was stopped: it %s", what))
			h.log.Warn("backend stopped", "op", op, "id", id, "waited_ms", time.Since(sentAt).Milliseconds(), "error", ctx.Err())
			return id, unavailable(op, ctx.Err(), "backend %s; stopped it, the next call starts a new one", what)
		case <-h.closed:
			return id, unavailable(op, nil, "host closed")
		}
	}
}

// backend returns the process to call, starting one when none is usable.
func (h *Host) backend(op Op) (*process, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.isClosed {
		return nil, unavailable(op, nil, "host closed")
	}
	if old := h.proc; old != nil {
		if old.usable() {
			return old, nil
		}
		// Its exit may not have been handled yet (see ended).
		h.lastEnd, h.lastStderr = old.describeEnd(""), old.lastStderr()
		h.proc = nil
	}

	now := h.now()
	kept := h.starts[:0]
	for _, t := range h.starts {
		if now.Sub(t) < restartWindow {
			kept = append(kept, t)
		}
	}
	h.starts = kept
	if len(h.starts) >= restartBurst {
		wait := roundDuration(h.starts[0].Add(restartWindow).Sub(now))
		return nil, unavailable(op, nil, "backend started %d times within %s; not starting it again for %s (last: backend %s%s)",
			len(h.starts), restartWindow, wait, h.lastEnd, formatStderr(h.lastStderr))
	}
	h.starts = append(h.starts, now)

	h.workers.Add(1) // Done in ended; isClosed was checked under mu
	p, err := startProcess(&h.cfg, h.log, h.ended)
	if err != nil {
		h.workers.Done()
		h.lastEnd, h.lastStderr = fmt.Sprintf("could not start (%v)", err), nil
		return nil, unavailable(op, nil, "start backend %s: %v", filepath.Base(h.cfg.Path), err)
	}
	h.log.Info("backend started", "path", h.cfg.Path, "pid", p.pid)
	h.proc = p
	return p, nil
}

// ended runs once a process has exited and its output is read.
func (h *Host) ended(p *process) {
	defer h.workers.Done()
	end, tail := p.describeEnd(""), p.lastStderr()
	h.mu.Lock()
	h.lastEnd, h.lastStderr = end, tail
	if h.proc == p {
		h.proc = nil
	}
	closing := h.isClosed
	h.mu.Unlock()
	if closing {
		h.log.Debug("backend exited", "pid", p.pid, "reason", end)
		return
	}
	h.log.Warn("backend exited", "pid", p.pid, "reason", end, "output", tail)
}

// awaitReady waits until p has sent its ready frame. A caller that gives up
// leaves the process starting for the next one.
func (h *Host) awaitReady(ctx context.Context, op Op, p *process) error {
	select {
	case <-p.ready:
		return nil
	default:
	}
	select {
	case <-p.ready:
		return nil
	case <-p.exited:
		return unavailable(op, nil, "backend %s%s", p.describeEnd("before it was ready"), p.stderrSuffix())
	case <-ctx.Done():
		return unavailable(op, ctx.Err(), "backend still starting after %s (%v)", roundDuration(time.Since(p.startedAt)), ctx.Err())
	case <-h.closed:
		return unavailable(op, nil, "host closed")
	}
}

// abandon hands the wait for a cancelled call's answer to a goroutine that
// keeps the call's slot until the backend has answered, so that a cancelled
// request costs no restart. When the answer has not come by the call's
// deadline, the process is killed. It reports false when the host is closing.
func (h *Host) abandon(p *process, answer <-chan Response, deadline time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.isClosed {
		return false
	}
	h.workers.Add(1)
	go func() {
		defer h.workers.Done()
		defer func() { <-h.slot }()
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		select {
		case <-answer:
		case <-p.exited:
		case <-h.closed:
		case <-t.C:
			p.kill("was stopped: a cancelled call did not finish by its deadline")
		}
	}()
	return true
}

// decodeResult turns a response into the call's error or result.
func decodeResult(op Op, resp Response, result any) error {
	if !resp.OK {
		return &Error{Op: op, Kind: resp.Error.Kind, Message: resp.Error.Message}
	}
	if result == nil || len(resp.Result) == 0 {
		return nil
	}
	if err := json.Unmarshal(resp.Result, result); err != nil {
		return &Error{Op: op, Kind: KindInternal, Message: fmt.Sprintf("decode result: %v", err)}
	}
	return nil
}

// hostError is an Unavailable error of the host that also matches the
// context error that caused it.
type hostError struct {
	err   *Error
	cause error
}

func (e *hostError) Error() string   { return e.err.Error() }
func (e *hostError) Unwrap() []error { return []error{e.err, e.cause} }

func unavailable(op Op, cause error, format string, a ...any) error {
	e := &Error{Op: op, Kind: KindUnavailable, Message: fmt.Sprintf(format, a...)}
	if cause == nil {
		return e
	}
	return &hostError{err: e, cause: cause}
}

// roundDuration keeps two or three significant digits for messages.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	default:
		return d.Round(time.Millisecond)
	}
}
