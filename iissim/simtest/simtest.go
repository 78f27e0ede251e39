// Package simtest runs iissim for tests: a test binary acts as iissim by
// starting itself again (the re-exec trick), so that tests need no iissim
// binary on the PATH.
//
// A package that uses it calls MaybeRunSim first thing in its TestMain:
//
//	func TestMain(m *testing.M) {
//		simtest.MaybeRunSim()
//		os.Exit(m.Run())
//	}
//
// Start then gives a running host and typed client over a fresh state
// directory, and stops the iissim service when the test ends.
package simtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nomad-iis/nomad-iis/iissim"
	"github.com/nomad-iis/nomad-iis/ps"
)

// ReexecEnv is the environment variable that makes a test binary run
// iissim (MaybeRunSim) instead of its tests.
const ReexecEnv = "IISSIM_REEXEC"

// MaybeRunSim runs iissim and exits when the test binary was started as
// iissim (ReexecEnv=1); otherwise it returns at once.
func MaybeRunSim() {
	if os.Getenv(ReexecEnv) != "1" {
		return
	}
	self, err := Self()
	if err != nil {
		fmt.Fprintf(os.Stderr, "iissim: %v\n", err)
		os.Exit(1)
	}
	os.Exit(iissim.Main(self, os.Args[1:]))
}

// Self is the command that runs the current test binary as iissim; it
// needs ReexecEnv=1 in the environment (see Env).
func Self() ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("test binary: %w", err)
	}
	return []string{exe}, nil
}

// Env is the environment a re-executed test binary needs to act as iissim.
// It also stops a race-enabled binary from sleeping a second at exit, which
// every host, service and worker process would otherwise do.
func Env() []string {
	return []string{ReexecEnv + "=1", "GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")}
}

// Sim is a running iissim: a host process speaking the contract and the
// service behind it.
type Sim struct {
	// IIS is the typed client over Host.
	IIS *ps.IIS
	// Host runs the iissim host process.
	Host *ps.Host
	// StateDir is the service's state directory.
	StateDir string
	// ExtensionsDir is the directory of admin extension hooks ("" for none).
	ExtensionsDir string
	// Self is the command that runs iissim (the test binary).
	Self []string
	// env is added to the host's environment.
	env []string
}

// Option changes how Start runs iissim.
type Option func(*options)

type options struct {
	stateDir      string
	extensionsDir string
	env           []string
}

// WithStateDir uses dir as the state directory instead of a new temporary one.
func WithStateDir(dir string) Option { return func(o *options) { o.stateDir = dir } }

// WithEnv adds KEY=value pairs to the environment of the host, and so of
// the service it starts (such as IISSIM_MINUTE).
func WithEnv(kv ...string) Option { return func(o *options) { o.env = append(o.env, kv...) } }

// WithExtensionsDir gives the host a directory of admin extension hooks.
func WithExtensionsDir(dir string) Option { return func(o *options) { o.extensionsDir = dir } }

// Start starts an iissim host, waits until it answers, and registers a
// cleanup that closes the host and stops the service with its workers.
func Start(t testing.TB, opts ...Option) *Sim {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.stateDir == "" {
		o.stateDir = t.TempDir()
	}
	self, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	s := &Sim{StateDir: o.stateDir, ExtensionsDir: o.extensionsDir, Self: self, env: o.env}
	t.Cleanup(func() {
		if s.Host != nil {
			_ = s.Host.Close()
		}
		if code := iissim.Main(self, []string{"stop", "--state-dir", s.StateDir}); code != 0 {
			t.Errorf("iissim stop --state-dir %s: exit status %d", s.StateDir, code)
		}
		if t.Failed() {
			if log, err := os.ReadFile(filepath.Join(s.StateDir, "service.log")); err == nil {
				t.Logf("iissim service log:\n%s", log)
			}
		}
	})
	s.startHost(t)
	return s
}

// startHost starts a host over the state directory and waits for it.
func (s *Sim) startHost(t testing.TB) {
	t.Helper()
	path, args := ps.SimCommand(s.Self, s.StateDir, s.ExtensionsDir)
	s.Host = ps.NewHost(ps.HostConfig{Path: path, Args: args, Env: append(Env(), s.env...), Logger: hclog.NewNullLogger()})
	s.IIS = ps.NewIIS(s.Host)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := s.IIS.TestConnection(ctx); err != nil {
		t.Fatalf("start iissim: %v", err)
	}
}

// RestartHost closes the host, as a restarting plugin does, and starts a
// new one over the same state directory; the service keeps running.
func (s *Sim) RestartHost(t testing.TB) {
	t.Helper()
	if err := s.Host.Close(); err != nil {
		t.Logf("close iissim host: %v", err)
	}
	s.startHost(t)
}

// Stop stops the service and its workers, as "iissim stop" does; the
// host's next call starts it again.
func (s *Sim) Stop(t testing.TB) {
	t.Helper()
	if code := iissim.Main(s.Self, []string{"stop", "--state-dir", s.StateDir}); code != 0 {
		t.Fatalf("iissim stop --state-dir %s: exit status %d", s.StateDir, code)
	}
}
