package ps_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/shoenig/test/must"
	"go.uber.org/goleak"

	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/nomad-iis/nomad-iis/ps/internal/fakebackend"
)

// TestMain turns the test binary into the fake backend when the host
// starts it, and checks that no test leaves a goroutine behind.
func TestMain(m *testing.M) {
	if mode := os.Getenv(fakebackend.EnvMode); mode != "" {
		os.Exit(fakebackend.Main(mode))
	}
	goleak.VerifyTestMain(m)
}

// logBuffer collects a host's log lines.
type logBuffer struct {
	// mu guards buf.
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

type fixture struct {
	host *ps.Host
	logs *logBuffer
	dir  string
}

// newHost returns a host over the fake backend in mode; edit adjusts its
// configuration. The host is closed when the test ends.
func newHost(t *testing.T, mode string, edit ...func(*ps.HostConfig)) *fixture {
	t.Helper()
	exe, err := os.Executable()
	must.NoError(t, err)
	f := &fixture{logs: &logBuffer{}, dir: t.TempDir()}
	cfg := ps.HostConfig{
		Path: exe,
		// A race-enabled binary sleeps a second before a clean exit by default.
		Env:    []string{fakebackend.EnvMode + "=" + mode, "GORACE=atexit_sleep_ms=0"},
		Logger: hclog.New(&hclog.LoggerOptions{Name: "ps", Level: hclog.Trace, Output: f.logs}),
	}
	for _, e := range edit {
		e(&cfg)
	}
	f.host = ps.NewHost(cfg)
	t.Cleanup(func() {
		must.NoError(t, f.host.Close())
		if t.Failed() {
			t.Logf("host log:\n%s", preview(f.logs.String()))
		}
	})
	return f
}

func preview(s string) string {
	const max = 20000
	if len(s) > max {
		return s[:max/2] + "\n...\n" + s[len(s)-max/2:]
	}
	return s
}

// ctx returns a context with a deadline far enough away that only a hung
// test reaches it, so that CallTimeout does not apply.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// ping calls TestConnection and returns the PID that answered.
func (f *fixture) ping(t *testing.T) int {
	t.Helper()
	var info ps.ConnectionInfo
	must.NoError(t, f.host.Call(testCtx(t), ps.OpTestConnection, nil, &info))
	must.Eq(t, "fake", info.Backend)
	must.Eq(t, info.ProcessID, f.host.PID())
	return info.ProcessID
}

// path names a file in the fixture's directory, for the fake's signals.
func (f *fixture) path(name string) string { return filepath.Join(f.dir, name) }

// waitForFile polls until the fake has created path.
func waitForFile(t *testing.T, path string) {
	t.Helper()
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func touch(t *testing.T, path string) {
	t.Helper()
	must.NoError(t, os.WriteFile(path, nil, 0o600))
}

type payload struct {
	Text  string         `json:"text"`
	N     int            `json:"n"`
	Extra map[string]any `json:"extra,omitempty"`
}

func TestHost_Call_RoundTrip(t *testing.T) {
	t.Parallel()
	f := newHost(t, fakebackend.ModeServe)
	cases := []struct {
		name string
		op   ps.Op
		args any
		want payload
	}{
		{name: "plain", op: fakebackend.OpEcho, args: payload{Text: "hello", N: 1}, want: payload{Text: "hello", N: 1}},
		{
			name: "non-ASCII",
			op:   fakebackend.OpEcho,
			args: payload{Text: "Grüße, 世界, עברית, 🚀, \u2028\u2029, <&>, \"q\" \\ \t\r\n, \x00 end", N: 2},
			want: payload{Text: "Grüße, 世界, עברית, 🚀, \u2028\u2029, <&>, \"q\" \\ \t\r\n, \x00 end", N: 2},
		},
		{
			name: "multi-megabyte both ways",
			op:   fakebackend.OpEcho,
			args: payload{Text: fakebackend.BigText(4 << 20), N: 3},
			want: payload{Text: fakebackend.BigText(4 << 20), N: 3},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got payload
			must.NoError(t, f.host.Call(testCtx(t), tc.op, tc.args, &got))
			must.True(t, got.Text == tc.want.Text, must.Sprintf("text differs (%d bytes, want %d)", len(got.Text), len(tc.want.Text)))
			must.Eq(t, tc.want.N, got.N)
		})
	}

	t.Run("multi-megabyte result", func(t *testing.T) {
		var got string
		must.NoError(t, f.host.Call(testCtx(t), fakebackend.OpBig, fakebackend.SizeArgs{Bytes: 6 << 20}, &got))
		must.True(t, got == fakebackend.BigText(6<<20), must.Sprintf("result differs (%d bytes)", len(got)))
	})
	t.Run("nil args and result", func(t *testing.T) {
		must.NoError(t, f.host.Call(testCtx(t), fakebackend.OpEcho, nil, nil))
		var got map[string]any
		must.NoError(t, f.host.Call(testCtx(t), fakebackend.OpLastRequest, nil, &got))
		must.Eq(t, map[string]any{"op": "Echo", "args": map[string]any{}}, got)
	})
}

func TestHost_Call_ErrorKinds(t *testing.T) {
	t.Parallel()
	f := newHost(t, fakebackend.ModeServe)
	sentinels := []error{ps.ErrNotFound, ps.ErrInvalidArgument, ps.ErrConflict, ps.ErrUnavailable, ps.ErrInternal}
	cases := []struct {
		kind ps.ErrorKind
		want error
	}{
		{ps.KindNotFound, ps.ErrNotFound},
		{ps.KindInvalidArgument, ps.ErrInvalidArgument},
		{ps.KindConflict, ps.ErrConflict},
		{ps.KindUnavailable, ps.ErrUnavailable},
		{ps.KindInternal, ps.ErrInternal},
	}
	for _, tc := range cases {
		t.Run(string(tc.kind), func(t *testing.T) {
			msg := fmt.Sprintf("site %q: %s", "nomad-x", tc.kind)
			err := f.host.Call(testCtx(t), fakebackend.OpFail, fakebackend.FailArgs{Kind: tc.kind, Message: msg}, nil)
			for _, s := range sentinels {
				must.Eq(t, s == tc.want, errors.Is(err, s), must.Sprintf("errors.Is(%v, %v)", err, s))
			}
			var e *ps.Error
			must.True(t, errors.As(err, &e))
			must.Eq(t, ps.Error{Op: fakebackend.OpFail, Kind: tc.kind, Message: msg}, *e)
			must.EqError(t, err, "Fail: "+msg)
		})
	}
}

func TestHost_Call_LocalErrors(t *testing.T) {
	t.Parallel()
	f := newHost(t, fakebackend.ModeServe)

	err := f.host.Call(testCtx(t), fakebackend.OpEcho, make(chan int), nil)
	must.ErrorIs(t, err, ps.ErrInvalidArgument)
	must.StrContains(t, err.Error(), "Echo: encode arguments")
	must.Eq(t, 0, f.host.PID(), must.Sprint("nothing to send, nothing started"))

	var n int
	err = f.host.Call(testCtx(t), fakebackend.OpEcho, payload{Text: "x"}, &n)
	must.ErrorIs(t, err, ps.ErrInternal)
	must.StrContains(t, err.Error(), "Echo: decode result")

	err = f.host.Call(testCtx(t), "NoSuchOp", nil, nil)
	must.ErrorIs(t, err, ps.ErrInvalidArgument)
}

func TestHost_Call_CrashMidCall(t *testing.T) {
	t.Parallel()
	f := newHost(t, fakebackend.ModeServe)
	before := f.ping(t)

	err := f.host.Call(testCtx(t), fakebackend.OpCrash, fakebackend.CrashArgs{Code: 3, Stderr: "fake: out of cheese"}, nil)
	must.ErrorIs(t, err, ps.ErrUnavailable)
	must.EqError(t, err, "Crash: backend exited (exit status 3) during the call; last stderr: fake: out of cheese")

	after := f.ping(t)
	must.NotEq(t, before, after)
	must.StrContains(t, f.logs.String(), "backend exited")
}

func TestHost_Call_Deadline(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		callTimeout time.Duration
		ctx         func() (context.Context, context.CancelFunc)
	}{
		{
			name:        "context deadline",
			callTimeout: time.Hour,
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 300*time.Millisecond)
			},
		},
		{
			name:        "CallTimeout when the context has none",
			callTimeout: 300 * time.Millisecond,
			ctx:         func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newHost(t, fakebackend.ModeServe, func(c *ps.HostConfig) { c.CallTimeout = tc.callTimeout })
			before := f.ping(t)
			ctx, cancel := tc.ctx()
			defer cancel()
			err := f.host.Call(ctx, fakebackend.OpHang, nil, nil)
			must.ErrorIs(t, err, ps.ErrUnavailable)
			must.ErrorIs(t, err, context.DeadlineExceeded)
			must.StrContains(t, err.Error(), "Hang: backend did not answer within")
			must.StrContains(t, err.Error(), "stopped it, the next call starts a new one")
			after := f.ping(t)
			must.NotEq(t, before, after)
		})
	}
}

func TestHost_Call_CancelKeepsProcess(t *testing.T) {
	t.Parallel()
	f := newHost(t, fakebackend.ModeServe)
	before := f.ping(t)

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- f.host.Call(ctx, fakebackend.OpWait, fakebackend.WaitArgs{Started: f.path("started"), Gate: f.path("gate")}, nil)
	}()
	waitForFile(t, f.path("started"))
	cancel()
	err := <-errc
	must.ErrorIs(t, err, ps.ErrUnavailable)
	must.ErrorIs(t, err, context.Canceled)
	must.StrContains(t, err.Error(), "the operation may still complete")

	// The backend finishes the cancelled call, then serves the next one.
	touch(t, f.path("gate"))
	must.Eq(t, before, f.ping(t))
}

func TestHost_Call_QueuedCallerCancels(t *testing.T) {
	t.Parallel()
	f := newHost(t, fakebackend.ModeServe)
	f.ping(t)

	first := make(chan error, 1)
	go func() {
		first <- f.host.Call(testCtx(t), fakebackend.OpWait, fakebackend.WaitArgs{Started: f.path("started"), Gate: f.path("gate")}, nil)
	}()
	waitForFile(t, f.path("started"))

	ctx, cancel := context.WithCancel(context.Background())
	second := make(chan error, 1)
	go func() { second <- f.host.Call(ctx, fakebackend.OpEcho, payload{Text: "queued"}, nil) }()
	cancel()
	// The first call still holds the backend: the second returns on its own.
	err := <-second
	must.ErrorIs(t, err, ps.ErrUnavailable)
	must.ErrorIs(t, err, context.Canceled)
	must.StrContains(t, err.Error(), "gave up waiting for the previous call")

	touch(t, f.path("gate"))
	must.NoError(t, <-first)
}

func TestHost_StrayOutput(t *testing.T) {
	t.Parallel()
	f := newHost(t, fakebackend.ModeBOM)
	pid := f.ping(t)
	for i := range 3 {
		var got payload
		must.NoError(t, f.host.Call(testCtx(t), fakebackend.OpGarbage, payload{Text: "after garbage", N: i}, &got))
		must.Eq(t, payload{Text: "after garbage", N: i}, got)
	}
	must.Eq(t, pid, f.ping(t))
	logs := f.logs.String()
	must.StrContains(t, logs, "skipped stray output from the backend")
	must.StrContains(t, logs, "WARNING: a module printed this")
	must.StrContains(t, logs, "skipped a response nobody waits for")
}

func TestHost_StderrChatter(t *testing.T) {
	t.Parallel()
	f := newHost(t, fakebackend.ModeChatty)
	pid := f.ping(t)
	must.NoError(t, f.host.Call(testCtx(t), fakebackend.OpStderr, fakebackend.SizeArgs{Bytes: 2 << 20}, nil))
	must.Eq(t, pid, f.ping(t))
	must.StrContains(t, f.logs.String(), "backend stderr")
}

func TestHost_Call_Concurrent(t *testing.T) {
	t.Parallel()
	f := newHost(t, fakebackend.ModeServe)
	const callers, calls = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, callers*calls)
	for c := range callers {
		wg.Go(func() {
			for i := range calls {
				want := payload{Text: fmt.Sprintf("caller %d call %d", c, i), N: c*1000 + i}
				var got payload
				if err := f.host.Call(testCtx(t), fakebackend.OpEcho, want, &got); err != nil {
					errs <- err
					continue
				}
				if got.Text != want.Text || got.N != want.N {
					errs <- fmt.Errorf("caller %d got %+v, want %+v", c, got, want)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must.NoError(t, err)
	}
}

func TestHost_RestartAfterExit(t *testing.T) {
	t.Parallel()
	f := newHost(t, fakebackend.ModeServe)
	before := f.ping(t)
	must.NoError(t, f.host.Call(testCtx(t), fakebackend.OpExit, nil, nil))
	// Once the host has seen the exit, the next call starts a new process.
	for f.host.PID() != 0 {
		time.Sleep(5 * time.Millisecond)
	}
	after := f.ping(t)
	must.NotEq(t, before, after)
	must.StrContains(t, f.logs.String(), "exited (exit status 0)")
}

func TestHost_Start_Failures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		mode string
		want string
	}{
		{mode: fakebackend.ModeNeverReady, want: "TestConnection: backend did not become ready within 1s; last stderr: fake: waiting forever"},
		{mode: fakebackend.ModeCrashAtStart, want: "TestConnection: backend exited (exit status 2) before it was ready; last stderr: fake: cannot load the module"},
		{mode: fakebackend.ModeRefuse, want: "TestConnection: backend refused to start: Unavailable: IIS is not installed"},
	}
	for _, tc := range cases {
		t.Run(tc.mode, func(t *testing.T) {
			t.Parallel()
			f := newHost(t, tc.mode, func(c *ps.HostConfig) { c.StartTimeout = time.Second })
			err := f.host.Call(testCtx(t), ps.OpTestConnection, nil, nil)
			must.ErrorIs(t, err, ps.ErrUnavailable)
			must.EqError(t, err, tc.want)
		})
	}

	t.Run("no such executable", func(t *testing.T) {
		t.Parallel()
		f := newHost(t, fakebackend.ModeServe, func(c *ps.HostConfig) { c.Path = filepath.Join(t.TempDir(), "powershell.exe") })
		err := f.host.Call(testCtx(t), ps.OpTestConnection, nil, nil)
		must.ErrorIs(t, err, ps.ErrUnavailable)
		must.StrContains(t, err.Error(), "TestConnection: start backend powershell.exe:")
		must.Eq(t, 0, f.host.PID())
	})
}

func TestHost_Start_CallerGivesUpWhileStarting(t *testing.T) {
	t.Parallel()
	gate := filepath.Join(t.TempDir(), "gate")
	f := newHost(t, fakebackend.ModeGated, func(c *ps.HostConfig) {
		c.Env = append(c.Env, fakebackend.EnvGate+"="+gate)
	})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- f.host.Call(ctx, ps.OpTestConnection, nil, nil) }()
	for f.host.PID() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	starting := f.host.PID()
	cancel()
	err := <-errc
	must.ErrorIs(t, err, ps.ErrUnavailable)
	must.ErrorIs(t, err, context.Canceled)
	must.StrContains(t, err.Error(), "backend still starting after")

	// The process kept starting; the next call uses it.
	touch(t, gate)
	must.Eq(t, starting, f.ping(t))
}

func TestHost_Start_CrashLoop(t *testing.T) {
	t.Parallel()
	f := newHost(t, fakebackend.ModeCrashAtStart)
	clock := struct {
		sync.Mutex
		now time.Time
	}{now: time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)}
	ps.SetClock(f.host, func() time.Time {
		clock.Lock()
		defer clock.Unlock()
		return clock.now
	})
	advance := func(d time.Duration) {
		clock.Lock()
		clock.now = clock.now.Add(d)
		clock.Unlock()
	}

	for range 5 {
		err := f.host.Call(testCtx(t), ps.OpTestConnection, nil, nil)
		must.ErrorIs(t, err, ps.ErrUnavailable)
		must.StrContains(t, err.Error(), "before it was ready")
		advance(time.Second)
	}
	err := f.host.Call(testCtx(t), ps.OpTestConnection, nil, nil)
	must.ErrorIs(t, err, ps.ErrUnavailable)
	must.EqError(t, err, "TestConnection: backend started 5 times within 1m0s; not starting it again for 55s "+
		"(last: backend exited (exit status 2); last stderr: fake: cannot load the module)")
	must.Eq(t, 0, f.host.PID())

	// Once the oldest start leaves the window, one more start is allowed.
	advance(55 * time.Second)
	err = f.host.Call(testCtx(t), ps.OpTestConnection, nil, nil)
	must.StrContains(t, err.Error(), "before it was ready")
	err = f.host.Call(testCtx(t), ps.OpTestConnection, nil, nil)
	must.StrContains(t, err.Error(), "not starting it again for 1s")
}

func TestHost_Close_InFlight(t *testing.T) {
	t.Parallel()
	f := newHost(t, fakebackend.ModeServe)
	f.ping(t)

	inFlight := make(chan error, 1)
	go func() {
		inFlight <- f.host.Call(testCtx(t), fakebackend.OpHang, fakebackend.WaitArgs{Started: f.path("started")}, nil)
	}()
	waitForFile(t, f.path("started"))
	queued := make(chan error, 1)
	go func() { queued <- f.host.Call(testCtx(t), fakebackend.OpEcho, nil, nil) }()

	must.NoError(t, f.host.Close())
	for _, ch := range []chan error{inFlight, queued} {
		err := <-ch
		must.ErrorIs(t, err, ps.ErrUnavailable)
		must.StrContains(t, err.Error(), "host closed")
	}
	err := f.host.Call(testCtx(t), ps.OpTestConnection, nil, nil)
	must.EqError(t, err, "TestConnection: host closed")
	must.Eq(t, 0, f.host.PID())
	must.NoError(t, f.host.Close())
}

func TestHost_Close_KillsBackendThatDoesNotExit(t *testing.T) {
	t.Parallel()
	f := newHost(t, fakebackend.ModeServe)
	errc := make(chan error, 1)
	go func() {
		// The fake does not read its input while it waits for the gate.
		errc <- f.host.Call(testCtx(t), fakebackend.OpWait, fakebackend.WaitArgs{Started: f.path("started"), Gate: f.path("gate")}, nil)
	}()
	waitForFile(t, f.path("started"))
	pid := f.host.PID()
	err := f.host.Close()
	must.EqError(t, err, fmt.Sprintf("backend (pid %d) did not exit within 5s of closing its input; killed it", pid))
	must.ErrorIs(t, <-errc, ps.ErrUnavailable)
}

func TestHost_Log_NoArgumentValues(t *testing.T) {
	t.Parallel()
	const secret = "Pa55-w0rd-that-must-not-leak"
	f := newHost(t, fakebackend.ModeBOM)
	spec := &ps.TaskSiteSpec{AppPools: []ps.AppPoolSpec{{
		Name: "nomad-pool", Password: secret,
		EnvironmentVariables: []ps.EnvVar{{Name: "DB_PASSWORD", Value: secret}},
	}}}
	ctx := testCtx(t)
	must.NoError(t, f.host.Call(ctx, fakebackend.OpEcho, spec, nil))
	must.NoError(t, f.host.Call(ctx, fakebackend.OpGarbage, spec, nil))
	must.Error(t, f.host.Call(ctx, ps.OpNewTaskSite, spec, nil))
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	must.ErrorIs(t, f.host.Call(short, fakebackend.OpHang, spec, nil), ps.ErrUnavailable)
	must.ErrorIs(t, f.host.Call(ctx, fakebackend.OpCrash, fakebackend.CrashArgs{Code: 1, Stderr: "bye"}, nil), ps.ErrUnavailable)

	logs := f.logs.String()
	must.StrContains(t, logs, "op=Echo")
	must.StrContains(t, logs, "op=NewTaskSite")
	must.StrContains(t, logs, "duration_ms=")
	must.StrContains(t, logs, "error_kind=InvalidArgument")
	must.False(t, strings.Contains(logs, secret), must.Sprint("a secret argument reached the log"))
}
