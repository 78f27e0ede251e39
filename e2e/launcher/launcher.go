// Package launcher starts a real Nomad cluster with the nomad_iis plugin
// loaded, for `make run` and the end-to-end suites, and stops it again without
// leaving anything behind.
//
// The cluster is two agents bound to 127.0.0.1, as in production: a server,
// and a client with the plugin, each with a data directory of its own. Not
// `nomad agent -dev`: a -dev agent keeps its state in memory and destroys its
// allocations when it stops, so restarting it could not show that tasks are
// recovered; and a client started together with a fresh server can try to
// register in the milliseconds before the server's keyring exists, and then
// waits 15 to 30 s to try again. Here the server is ready before the client
// starts, and Restart restarts the client alone, as an operator restarts the
// Nomad service of a Windows node to update the plugin.
//
// The client's plugin directory holds a copy of the plugin binary under the
// name Nomad looks for, and its configuration has the plugin "nomad_iis"
// block with the Management API arguments and the backend settings: iissim
// with a state directory of its own on Linux and macOS, PowerShell and IIS on
// Windows.
//
// Stop stops the jobs still registered (so that the driver removes their
// sites and pools), interrupts both agents, stops the iissim service, ends
// every process the agents left (logmon, workers), removes the cgroup
// directories the client created and the temporary directory.
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
	// and waiting for the agents to exit, before processes are killed.
	DefaultStopTimeout = time.Minute
)

// Config says which agents and plugin to start, and how.
type Config struct {
	// NomadBin is the Nomad agent binary. Required.
	NomadBin string
	// PluginBin is the nomad_iis binary to load; it is copied into the
	// client's plugin directory. Required.
	PluginBin string
	// Backend is BackendIISSim or BackendPowerShell; empty means PowerShell
	// on Windows and iissim elsewhere.
	Backend string
	// PowerShellPath is the PowerShell executable of the PowerShell backend;
	// empty leaves the defaults (powershell.exe).
	PowerShellPath string

	// HTTPPort, RPCPort and SerfPort are the server's ports on 127.0.0.1,
	// ClientHTTPPort the client's HTTP port; 0 picks a free port.
	HTTPPort, RPCPort, SerfPort, ClientHTTPPort int
	// ManagementAPIPort is the Management API's port on 127.0.0.1; 0 picks a
	// free port. The API is always enabled.
	ManagementAPIPort int
	// ManagementAPIKey is the API key; empty generates a random one.
	ManagementAPIKey string
	// ManagementAPIJWTSecret, when set, is the API's JWT secret (at least
	// 32 bytes), beside the key.
	ManagementAPIJWTSecret string
	// Clients is the number of client agents (nodes), each with its own
	// plugin process, iissim service and Management API (on a free port,
	// beyond the first's ManagementAPIPort), all sharing the API key.
	// Default 1.
	Clients int

	// PlaywrightDriverDir and ScreenshotBrowser are given to the plugin as
	// --management-api-playwright-driver and --management-api-browser when
	// set (the plugin's defaults: $PLAYWRIGHT_DRIVER_PATH, and the first
	// Chromium, Chrome or Edge found).
	PlaywrightDriverDir, ScreenshotBrowser string

	// ExtraPluginConfig is HCL added inside the plugin's config block, such
	// as a procdump block or allowed_apppool_identities.
	ExtraPluginConfig string
	// LogLevel is the agents' log level; default DEBUG (which includes the
	// plugin's debug lines).
	LogLevel string
	// LogDir receives the agents' output: client.log (with the plugin's
	// log) and server.log. Empty writes them into the temporary directory,
	// which Stop removes.
	LogDir string

	// ReadyTimeout bounds the wait for each agent to be ready (the client:
	// its node ready and the iis driver healthy); default DefaultReadyTimeout.
	ReadyTimeout time.Duration
	// StopTimeout bounds the orderly part of Stop; default DefaultStopTimeout.
	StopTimeout time.Duration
	// Logger receives the launcher's own progress lines; default none.
	Logger hclog.Logger
}

// Cluster is a running Nomad server and client, the plugin loaded in the
// client.
type Cluster struct {
	cfg Config // defaults applied; immutable after Start

	// Immutable after Start.
	dir         string // temporary directory of everything below
	pluginDir   string
	stateDir    string // iissim state; empty on the PowerShell backend
	marker      string // value of markerEnv in every process the agents start
	cgroups     *cgroupDirs
	nomad       *api.Client
	backend     *ps.Host
	iis         *ps.IIS
	log         hclog.Logger
	serverAgent *role
	clientAgent *role
	// extra are the clients beyond the first (Config.Clients > 1).
	extra []*extraClient

	// allocsLock guards allocIDs, the allocations seen running on this
	// cluster; Stop looks for sites and pools of these left behind.
	allocsLock sync.Mutex
	allocIDs   []string

	stopOnce sync.Once
	stopErr  error
}

// markerEnv is set, with a random value, in the agents' environment. Every
// process they start inherits it, which is how Stop finds the ones the
// client leaves behind (logmon keeps running for reattachment by design).
const markerEnv = "NOMAD_IIS_LAUNCHER_ID"

// Start starts the server, then the client, and waits until the client's
// node is ready and the iis driver healthy. On error, everything started so
// far is stopped again.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if err := cfg.applyDefaults(); err != nil {
		return nil, err
	}
	c := &Cluster{cfg: cfg, log: cfg.Logger}
	if err := c.prepare(); err != nil {
		_ = c.cleanupFiles()
		return nil, err
	}
	if err := c.startServer(ctx); err != nil {
		_ = c.Stop(context.Background())
		return nil, err
	}
	if err := c.startClient(ctx); err != nil {
		_ = c.Stop(context.Background())
		return nil, err
	}
	if err := c.startExtraClients(ctx); err != nil {
		_ = c.Stop(context.Background())
		return nil, err
	}
	return c, nil
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
	switch {
	case c.Clients == 0:
		c.Clients = 1
	case c.Clients < 0 || c.Clients > 5:
		return fmt.Errorf("launcher: Clients is %d; 1 to 5 client agents are supported", c.Clients)
	}
	if c.ManagementAPIKey == "" {
		key, err := RandomKey()
		if err != nil {
			return err
		}
		c.ManagementAPIKey = key
	}
	ports, err := freePorts(c.HTTPPort, c.RPCPort, c.SerfPort, c.ClientHTTPPort, c.ManagementAPIPort)
	if err != nil {
		return err
	}
	c.HTTPPort, c.RPCPort, c.SerfPort, c.ClientHTTPPort, c.ManagementAPIPort = ports[0], ports[1], ports[2], ports[3], ports[4]
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

// prepare creates the directories, the plugin copy, the agents'
// configurations and the API and backend clients.
func (c *Cluster) prepare() error {
	dir, err := os.MkdirTemp("", "nomad-iis-e2e-")
	if err != nil {
		return fmt.Errorf("launcher: %w", err)
	}
	c.dir = dir
	c.pluginDir = filepath.Join(dir, "plugins")
	logDir := c.cfg.LogDir
	if logDir == "" {
		logDir = dir
	}
	c.serverAgent = &role{name: "server", dataDir: filepath.Join(dir, "server"),
		configPath: filepath.Join(dir, "server.hcl"), logPath: filepath.Join(logDir, "server.log")}
	c.clientAgent = &role{name: "client", dataDir: filepath.Join(dir, "client"),
		configPath: filepath.Join(dir, "client.hcl"), logPath: filepath.Join(logDir, "client.log")}
	if c.cfg.Backend == BackendIISSim {
		c.stateDir = filepath.Join(dir, "iissim")
	}
	for _, d := range []string{logDir, c.serverAgent.dataDir, c.clientAgent.dataDir, c.pluginDir, c.tmpDir(), c.stateDir} {
		if d == "" {
			continue
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("launcher: %w", err)
		}
	}
	for _, r := range []*role{c.serverAgent, c.clientAgent} {
		_ = os.Remove(r.logPath) // a previous run's, in a LogDir that stays
	}
	if err := copyFile(c.cfg.PluginBin, filepath.Join(c.pluginDir, pluginFileName())); err != nil {
		return fmt.Errorf("launcher: copy the plugin: %w", err)
	}
	if err := os.WriteFile(c.serverAgent.configPath, []byte(c.serverConfig()), 0o600); err != nil {
		return fmt.Errorf("launcher: write the server configuration: %w", err)
	}
	if err := os.WriteFile(c.clientAgent.configPath, []byte(c.clientConfig()), 0o600); err != nil {
		return fmt.Errorf("launcher: write the client configuration: %w", err)
	}
	if err := c.prepareExtraClients(logDir); err != nil {
		return err
	}
	if c.marker, err = RandomKey(); err != nil {
		return err
	}
	c.cgroups = newCgroupDirs()

	clientCfg := api.DefaultConfig()
	clientCfg.Address = c.Address()
	if c.nomad, err = api.NewClient(clientCfg); err != nil {
		return fmt.Errorf("launcher: nomad client: %w", err)
	}
	c.backend, err = c.newBackend()
	if err != nil {
		return err
	}
	c.iis = ps.NewIIS(c.backend)
	return nil
}

// tmpDir is the agents' TMPDIR: go-plugin sockets and the plugin's
// temporary files end up there.
func (c *Cluster) tmpDir() string { return filepath.Join(c.dir, "tmp") }

// Address is the server's HTTP API address, such as http://127.0.0.1:4646.
func (c *Cluster) Address() string { return fmt.Sprintf("http://127.0.0.1:%d", c.cfg.HTTPPort) }

// UIAddress is the Nomad web UI.
func (c *Cluster) UIAddress() string { return c.Address() + "/ui/" }

// ManagementAPIAddress is the Management API's base address, such as
// http://127.0.0.1:5004.
func (c *Cluster) ManagementAPIAddress() string {
	return fmt.Sprintf("http://127.0.0.1:%d", c.cfg.ManagementAPIPort)
}

// ManagementAPIKey is the Management API's key.
func (c *Cluster) ManagementAPIKey() string { return c.cfg.ManagementAPIKey }

// Client is a Nomad API client of the server.
func (c *Cluster) Client() *api.Client { return c.nomad }

// IIS is a client of the backend the plugin drives (iissim on the same state
// directory, or IIS through PowerShell): checks made through it see the web
// server from outside the plugin, as an operator would.
func (c *Cluster) IIS() *ps.IIS { return c.iis }

// Backend is BackendIISSim or BackendPowerShell.
func (c *Cluster) Backend() string { return c.cfg.Backend }

// NomadBin is the agent binary, for running the nomad CLI.
func (c *Cluster) NomadBin() string { return c.cfg.NomadBin }

// LogPath is the client's log, which holds the plugin's log too.
func (c *Cluster) LogPath() string { return c.clientAgent.logPath }

// ServerLogPath is the server's log.
func (c *Cluster) ServerLogPath() string { return c.serverAgent.logPath }

// CLIEnv is the environment for running the nomad CLI against the cluster.
func (c *Cluster) CLIEnv() []string {
	return append(cleanEnv(os.Environ()), "NOMAD_ADDR="+c.Address())
}

// Stop stops the jobs still registered, the agents, and everything they
// started, then removes the temporary directory. It is safe to call more
// than once; later calls return the first call's result.
func (c *Cluster) Stop(ctx context.Context) error {
	c.stopOnce.Do(func() { c.stopErr = c.stop(ctx) })
	return c.stopErr
}

func (c *Cluster) stop(ctx context.Context) error {
	var errs []error
	orderly, cancel := context.WithTimeout(ctx, c.cfg.StopTimeout)
	defer cancel()
	if c.serverAgent.running() && c.clientAgent.running() {
		if err := c.StopAllJobs(orderly); err != nil {
			errs = append(errs, err)
		}
	}
	if err := c.stopExtraClients(ctx, orderly); err != nil {
		errs = append(errs, err)
	}
	for _, r := range []*role{c.clientAgent, c.serverAgent} {
		if err := c.stopRole(orderly, r); err != nil {
			errs = append(errs, err)
		}
	}
	if c.iis != nil {
		if err := c.removeLeftoverSites(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if c.backend != nil {
		_ = c.backend.Close()
	}
	if err := c.stopIISSim(ctx); err != nil {
		errs = append(errs, err)
	}
	if err := killMarked(c.marker); err != nil {
		errs = append(errs, err)
	}
	if err := c.cgroups.remove(); err != nil {
		errs = append(errs, err)
	}
	if err := c.cleanupFiles(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// cleanupFiles removes the temporary directory. Files of a task can be held
// for a moment by a worker that is exiting, hence the retries.
func (c *Cluster) cleanupFiles() error {
	if c.dir == "" {
		return nil
	}
	err := unmountUnder(c.dir)
	for range 10 {
		if err = os.RemoveAll(c.dir); err == nil {
			return nil
		}
		time.Sleep(300 * time.Millisecond)
	}
	return fmt.Errorf("launcher: remove %s: %w", c.dir, err)
}
