// Package launcher starts a real Nomad agent with the nomad_iis plugin loaded,
// for `make run` and the end-to-end suites, and stops it again without leaving
// anything behind.
//
// The agent runs as one server and one client bound to 127.0.0.1, with a data
// directory of its own (not -dev: a -dev agent keeps its state in memory and
// destroys its allocations when it stops, so a restart could not show that
// tasks are recovered). Its plugin directory holds a copy of the plugin binary
// under the name Nomad looks for, and its configuration has the
// plugin "nomad_iis" block with the Management API arguments and the backend
// settings: iissim with a state directory of its own on Linux and macOS,
// PowerShell and IIS on Windows.
//
// Stop stops the jobs still registered (so that the driver removes their sites
// and pools), interrupts the agent, stops the iissim service, ends every
// process the agent left (logmon, workers), removes the cgroup directories the
// agent created and the temporary directory.
package launcher

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/api"

	"github.com/nomad-iis/nomad-iis/ps"
)

// Backends the plugin can drive, as the driver's backend option names them.
const (
	BackendIISSim     = "iissim"
	BackendPowerShell = "powershell"
)

// Defaults of Config.
const (
	// DefaultReadyTimeout bounds the wait for the node and the iis driver.
	// Windows PowerShell importing WebAdministration on a cold machine takes
	// a while, hence the margin.
	DefaultReadyTimeout = 2 * time.Minute
	// DefaultStopTimeout bounds the orderly part of Stop: stopping the jobs
	// and waiting for the agent to exit, before processes are killed.
	DefaultStopTimeout = time.Minute
)

// Config says which agent and plugin to start and how.
type Config struct {
	// NomadBin is the Nomad agent binary. Required.
	NomadBin string
	// PluginBin is the nomad_iis binary to load; it is copied into the
	// agent's plugin directory. Required.
	PluginBin string
	// Backend is BackendIISSim or BackendPowerShell; empty means PowerShell
	// on Windows and iissim elsewhere.
	Backend string
	// PowerShellPath is the PowerShell executable of the PowerShell backend;
	// empty leaves the driver's default (powershell.exe).
	PowerShellPath string
	// ScriptDir is the directory of host.ps1 (the repository's scripts/),
	// for the launcher's own client of the PowerShell backend.
	ScriptDir string

	// HTTPPort, RPCPort and SerfPort are the agent's ports on 127.0.0.1;
	// 0 picks a free port.
	HTTPPort, RPCPort, SerfPort int
	// ManagementAPIPort is the Management API's port on 127.0.0.1; 0 picks a
	// free port. The API is always enabled.
	ManagementAPIPort int
	// ManagementAPIKey is the API key; empty generates a random one.
	ManagementAPIKey string

	// ExtraPluginConfig is HCL added inside the plugin's config block, such
	// as a procdump block or allowed_apppool_identities.
	ExtraPluginConfig string
	// LogLevel is the agent's log level; default DEBUG (which includes the
	// plugin's debug lines).
	LogLevel string
	// LogFile receives the agent's output (and so the plugin's log). Empty
	// writes it into the temporary directory, which Stop removes; LogPath
	// names it either way.
	LogFile string

	// ReadyTimeout bounds Start's wait for the node to be ready and the iis
	// driver healthy; default DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// StopTimeout bounds the orderly part of Stop; default DefaultStopTimeout.
	StopTimeout time.Duration
	// Logger receives the launcher's own progress lines; default none.
	Logger hclog.Logger
}

// Agent is a running Nomad agent with the plugin loaded.
type Agent struct {
	cfg Config // defaults applied; immutable after Start

	// Immutable after Start.
	dir        string // temporary directory of everything below
	dataDir    string
	pluginDir  string
	configPath string
	stateDir   string // iissim state; empty on the PowerShell backend
	logPath    string
	marker     string // value of markerEnv in every process the agent starts
	cgroups    *cgroupDirs
	client     *api.Client
	backend    *ps.Host
	iis        *ps.IIS
	log        hclog.Logger

	// allocsLock guards allocIDs, the allocations seen running on this
	// agent; Stop looks for sites and pools of these left behind.
	allocsLock sync.Mutex
	allocIDs   []string

	// procLock guards proc, which Restart replaces.
	procLock sync.Mutex
	proc     *agentProcess

	stopOnce sync.Once
	stopErr  error
}

// markerEnv is set, with a random value, in the agent's environment. Every
// process the agent starts inherits it, which is how Stop finds the ones the
// agent leaves behind (logmon keeps running for reattachment by design).
const markerEnv = "NOMAD_IIS_LAUNCHER_ID"

// Start starts the agent and waits until its node is ready and the iis
// driver healthy. On error, everything started so far is stopped again.
func Start(ctx context.Context, cfg Config) (*Agent, error) {
	if err := cfg.applyDefaults(); err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, log: cfg.Logger}
	if err := a.prepare(); err != nil {
		_ = a.cleanupFiles()
		return nil, err
	}
	if err := a.bootstrap(ctx); err != nil {
		_ = a.Stop(context.Background())
		return nil, err
	}
	if err := a.startAgent(ctx); err != nil {
		_ = a.Stop(context.Background())
		return nil, err
	}
	return a, nil
}

func (c *Config) applyDefaults() error {
	if c.NomadBin == "" {
		return errors.New("launcher: the Nomad agent binary is not set (NOMAD_BIN)")
	}
	if c.PluginBin == "" {
		return errors.New("launcher: the nomad_iis plugin binary is not set (NOMAD_IIS_PLUGIN)")
	}
	for _, p := range []*string{&c.NomadBin, &c.PluginBin} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			return fmt.Errorf("launcher: %w", err)
		}
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("launcher: %w", err)
		}
		*p = abs
	}
	switch c.Backend {
	case "":
		c.Backend = BackendIISSim
		if runtime.GOOS == "windows" {
			c.Backend = BackendPowerShell
		}
	case BackendIISSim, BackendPowerShell:
	default:
		return fmt.Errorf("launcher: backend %q is not %q or %q", c.Backend, BackendIISSim, BackendPowerShell)
	}
	if c.ManagementAPIKey == "" {
		key, err := RandomKey()
		if err != nil {
			return err
		}
		c.ManagementAPIKey = key
	}
	ports, err := freePorts(c.HTTPPort, c.RPCPort, c.SerfPort, c.ManagementAPIPort)
	if err != nil {
		return err
	}
	c.HTTPPort, c.RPCPort, c.SerfPort, c.ManagementAPIPort = ports[0], ports[1], ports[2], ports[3]
	if c.LogLevel == "" {
		c.LogLevel = "DEBUG"
	}
	if c.ReadyTimeout == 0 {
		c.ReadyTimeout = DefaultReadyTimeout
	}
	if c.StopTimeout == 0 {
		c.StopTimeout = DefaultStopTimeout
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	return nil
}

// RandomKey returns 32 random bytes in hex, for a Management API key.
func RandomKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("launcher: generate a key: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// prepare creates the directories, the plugin copy, the agent configuration
// and the backend client.
func (a *Agent) prepare() error {
	dir, err := os.MkdirTemp("", "nomad-iis-e2e-")
	if err != nil {
		return fmt.Errorf("launcher: %w", err)
	}
	a.dir = dir
	a.dataDir = filepath.Join(dir, "data")
	a.pluginDir = filepath.Join(dir, "plugins")
	a.configPath = filepath.Join(dir, "agent.hcl")
	a.logPath = a.cfg.LogFile
	if a.logPath == "" {
		a.logPath = filepath.Join(dir, "agent.log")
	}
	if a.cfg.Backend == BackendIISSim {
		a.stateDir = filepath.Join(dir, "iissim")
	}
	for _, d := range []string{a.dataDir, a.pluginDir, a.tmpDir(), a.stateDir} {
		if d == "" {
			continue
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("launcher: %w", err)
		}
	}
	if err := copyFile(a.cfg.PluginBin, filepath.Join(a.pluginDir, pluginFileName())); err != nil {
		return fmt.Errorf("launcher: copy the plugin: %w", err)
	}
	if err := os.WriteFile(a.configPath, []byte(a.agentConfig(true)), 0o600); err != nil {
		return fmt.Errorf("launcher: write the agent configuration: %w", err)
	}
	if err := os.WriteFile(a.serverConfigPath(), []byte(a.agentConfig(false)), 0o600); err != nil {
		return fmt.Errorf("launcher: write the agent configuration: %w", err)
	}
	if a.marker, err = RandomKey(); err != nil {
		return err
	}
	a.cgroups = newCgroupDirs()

	clientCfg := api.DefaultConfig()
	clientCfg.Address = a.Address()
	if a.client, err = api.NewClient(clientCfg); err != nil {
		return fmt.Errorf("launcher: nomad client: %w", err)
	}
	a.backend, err = a.newBackend()
	if err != nil {
		return err
	}
	a.iis = ps.NewIIS(a.backend)
	return nil
}

// serverConfigPath is the configuration of the bootstrap run: the server alone.
func (a *Agent) serverConfigPath() string { return filepath.Join(a.dir, "server.hcl") }

// tmpDir is the agent's TMPDIR: -dev sockets, go-plugin sockets and the
// plugin's temporary files end up there.
func (a *Agent) tmpDir() string { return filepath.Join(a.dir, "tmp") }

// Address is the agent's HTTP API address, such as http://127.0.0.1:4646.
func (a *Agent) Address() string { return fmt.Sprintf("http://127.0.0.1:%d", a.cfg.HTTPPort) }

// UIAddress is the Nomad web UI.
func (a *Agent) UIAddress() string { return a.Address() + "/ui/" }

// ManagementAPIAddress is the Management API's base address, such as
// http://127.0.0.1:5004.
func (a *Agent) ManagementAPIAddress() string {
	return fmt.Sprintf("http://127.0.0.1:%d", a.cfg.ManagementAPIPort)
}

// ManagementAPIKey is the Management API's key.
func (a *Agent) ManagementAPIKey() string { return a.cfg.ManagementAPIKey }

// Client is a Nomad API client of the agent.
func (a *Agent) Client() *api.Client { return a.client }

// IIS is a client of the backend the plugin drives (iissim on the same state
// directory, or IIS through PowerShell): checks made through it see the web
// server from outside the plugin, as an operator would.
func (a *Agent) IIS() *ps.IIS { return a.iis }

// Backend is BackendIISSim or BackendPowerShell.
func (a *Agent) Backend() string { return a.cfg.Backend }

// NomadBin is the agent binary, for running the nomad CLI against the agent.
func (a *Agent) NomadBin() string { return a.cfg.NomadBin }

// LogPath is the file that receives the agent's (and the plugin's) log.
func (a *Agent) LogPath() string { return a.logPath }

// CLIEnv is the environment for running the nomad CLI against this agent.
func (a *Agent) CLIEnv() []string {
	return append(cleanEnv(os.Environ()), "NOMAD_ADDR="+a.Address())
}

// Stop stops the jobs still registered, the agent, and everything it
// started, then removes the temporary directory. It is safe to call more than
// once; later calls return the first call's result.
func (a *Agent) Stop(ctx context.Context) error {
	a.stopOnce.Do(func() { a.stopErr = a.stop(ctx) })
	return a.stopErr
}

func (a *Agent) stop(ctx context.Context) error {
	var errs []error
	orderly, cancel := context.WithTimeout(ctx, a.cfg.StopTimeout)
	defer cancel()
	if a.running() {
		if err := a.StopAllJobs(orderly); err != nil {
			errs = append(errs, err)
		}
	}
	if err := a.stopAgent(orderly); err != nil {
		errs = append(errs, err)
	}
	if a.iis != nil {
		if err := a.removeLeftoverSites(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if a.backend != nil {
		_ = a.backend.Close()
	}
	if err := a.stopIISSim(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := killMarked(a.marker); err != nil {
		errs = append(errs, err)
	}
	if err := a.cgroups.remove(); err != nil {
		errs = append(errs, err)
	}
	if err := a.cleanupFiles(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// cleanupFiles removes the temporary directory. Files of a task can be held
// for a moment by a worker that is exiting, hence the retries.
func (a *Agent) cleanupFiles() error {
	if a.dir == "" {
		return nil
	}
	err := unmountUnder(a.dir)
	for range 10 {
		if err = os.RemoveAll(a.dir); err == nil {
			return nil
		}
		time.Sleep(300 * time.Millisecond)
	}
	return fmt.Errorf("launcher: remove %s: %w", a.dir, err)
}
