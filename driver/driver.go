// Package driver is the Nomad task driver "iis": it runs IIS websites as
// Nomad tasks, a drop-in replacement for nomad-iis 0.20. Every IIS operation
// goes through the contract of package ps, served by PowerShell on Windows
// and by iissim elsewhere.
package driver

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	cstructs "github.com/hashicorp/nomad/client/structs"
	"github.com/hashicorp/nomad/drivers/shared/eventer"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/hashicorp/nomad/plugins/shared/hclspec"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/nomad-iis/nomad-iis/version"
)

const (
	// pluginName is the driver name jobs use: driver = "iis".
	pluginName = "iis"

	// defaultMonitorInterval is how often a task's pools and site are checked.
	defaultMonitorInterval = 5 * time.Second
	// defaultLogPollInterval is how often the forwarded log files are read.
	defaultLogPollInterval = time.Second
)

var (
	// pluginInfo is the response of the PluginInfo RPC; its version is
	// version.Version, as everywhere else.
	pluginInfo = &base.PluginInfoResponse{
		Type:              base.PluginTypeDriver,
		PluginApiVersions: []string{drivers.ApiVersion010},
		PluginVersion:     version.Version,
		Name:              pluginName,
	}

	// capabilities: signals, exec (as the pool's identity, exec.go; nomad-iis
	// 0.20 has none), no filesystem isolation (directory ACLs instead), host
	// networking.
	capabilities = &drivers.Capabilities{
		SendSignals: true,
		Exec:        true,
		FSIsolation: drivers.FSIsolationNone,
	}
)

// Options are the settings of a Driver that come from the plugin's command
// line or from tests rather than from the agent's config block.
type Options struct {
	// ManagementAPIPort is reported in the fingerprint; 0 means the
	// Management API is off.
	ManagementAPIPort int
	// ManagementAPIScheme ("http" or "https") and ManagementAPIBind (the
	// listen address, such as 0.0.0.0 or 127.0.0.1) are reported in the
	// fingerprint with the port, so that a client (the nomad-iis command)
	// can reach the API of the node that runs an allocation.
	ManagementAPIScheme string
	ManagementAPIBind   string
	// SimSelf is the command that runs iissim. Default: this executable
	// with the hidden "iissim" subcommand.
	SimSelf []string
	// SimEnv is added to iissim's environment (tests use it to re-execute
	// the test binary as iissim).
	SimEnv []string
	// ScriptDir is where the embedded PowerShell scripts are written for
	// the powershell backend. Default: "nomad_iis_scripts" next to the
	// executable, a directory only administrators may change.
	ScriptDir string
	// MonitorInterval is how often each task's pools and site are checked
	// (default 5s).
	MonitorInterval time.Duration
	// LogPollInterval is how often forwarded log files are read (default 1s).
	LogPollInterval time.Duration
}

// Driver is the IIS task driver. The DriverPlugin methods below look up the
// task and delegate to the file of their concern.
type Driver struct {
	// eventer broadcasts task events to every TaskEvents caller.
	eventer *eventer.Eventer
	// ctx ends with Shutdown; every goroutine of the driver watches it.
	ctx    context.Context
	cancel context.CancelFunc
	// logger logs to the Nomad agent.
	logger hclog.Logger
	// opts are the command-line settings, fixed at construction.
	opts Options
	// tasks are the handles of the tasks this driver runs.
	tasks *taskStore

	// configLock guards the fields below it, which SetConfig replaces.
	configLock sync.RWMutex
	// settings is the validated plugin config; nil before SetConfig.
	settings *driverSettings
	// host runs the backend process; iis is the typed client over it.
	host *ps.Host
	iis  *ps.IIS
	// backendKey identifies the backend command line, so that a SetConfig
	// that does not change it keeps the running backend.
	backendKey string

	// serviceLock guards serviceStart.
	serviceLock sync.Mutex
	// serviceStart is when the web server's service started, as the last
	// fingerprint saw it; zero before, or when the backend does not say.
	serviceStart time.Time
}

var _ drivers.DriverPlugin = (*Driver)(nil)

// New returns an IIS driver. It talks to no backend until SetConfig.
func New(logger hclog.Logger, opts Options) *Driver {
	if opts.MonitorInterval <= 0 {
		opts.MonitorInterval = defaultMonitorInterval
	}
	if opts.LogPollInterval <= 0 {
		opts.LogPollInterval = defaultLogPollInterval
	}
	if len(opts.SimSelf) == 0 {
		if exe, err := os.Executable(); err == nil {
			opts.SimSelf = []string{exe, "iissim"}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	logger = logger.Named(pluginName)
	return &Driver{
		eventer: eventer.NewEventer(ctx, logger),
		ctx:     ctx,
		cancel:  cancel,
		logger:  logger,
		opts:    opts,
		tasks:   newTaskStore(),
	}
}

// Shutdown stops the driver's goroutines and its backend process. The IIS
// objects of running tasks stay: a new plugin process recovers them.
func (d *Driver) Shutdown() {
	d.cancel()
	d.configLock.Lock()
	host := d.host
	d.host, d.iis = nil, nil
	d.configLock.Unlock()
	if host != nil {
		if err := host.Close(); err != nil {
			d.logger.Warn("backend did not stop cleanly", "error", err)
		}
	}
}

// PluginInfo describes the plugin to Nomad.
func (d *Driver) PluginInfo() (*base.PluginInfoResponse, error) {
	return pluginInfo, nil
}

// ConfigSchema is the spec of the agent's plugin config block.
func (d *Driver) ConfigSchema() (*hclspec.Spec, error) {
	return configSpec, nil
}

// SetConfig validates the plugin config and (re)starts the backend when its
// command line changed. Nomad calls it before any other RPC.
func (d *Driver) SetConfig(cfg *base.Config) error {
	return d.setConfig(cfg)
}

// TaskConfigSchema is the spec of a task's config block.
func (d *Driver) TaskConfigSchema() (*hclspec.Spec, error) {
	return taskConfigSpec, nil
}

// Capabilities tells Nomad what the driver supports.
func (d *Driver) Capabilities() (*drivers.Capabilities, error) {
	return capabilities, nil
}

// Fingerprint streams the driver's health and node attributes every
// fingerprint_interval until ctx ends.
func (d *Driver) Fingerprint(ctx context.Context) (<-chan *drivers.Fingerprint, error) {
	ch := make(chan *drivers.Fingerprint)
	go d.handleFingerprint(ctx, ch)
	return ch, nil
}

// StartTask installs the task's certificates, then creates its pools, site
// (or applications in the target website) and bindings in one backend
// transaction. When a step fails, what the task created in IIS is undone:
// its site and pools, and the certificates it installed.
func (d *Driver) StartTask(cfg *drivers.TaskConfig) (*drivers.TaskHandle, *drivers.DriverNetwork, error) {
	if _, ok := d.tasks.Get(cfg.ID); ok {
		return nil, nil, fmt.Errorf("task with ID %q is already started", cfg.ID)
	}
	return d.startTask(cfg)
}

// RecoverTask re-attaches to a task started before the plugin restarted. It
// fails when the task's site or pools no longer exist.
func (d *Driver) RecoverTask(handle *drivers.TaskHandle) error {
	if handle == nil || handle.Config == nil {
		return fmt.Errorf("cannot recover a task without a handle and config")
	}
	if _, ok := d.tasks.Get(handle.Config.ID); ok {
		return nil
	}
	return d.recoverTask(handle)
}

// WaitTask returns a channel that receives the task's exit result once it
// exits: stopped by Nomad, or its site or a pool stopped or removed outside
// Nomad. The channel is closed after the result, or when ctx ends.
func (d *Driver) WaitTask(ctx context.Context, taskID string) (<-chan *drivers.ExitResult, error) {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, drivers.ErrTaskNotFound
	}
	ch := make(chan *drivers.ExitResult)
	go d.handleWait(ctx, h, ch)
	return ch, nil
}

// StopTask stops the task's pools and waits up to timeout (the job's
// kill_timeout) for their worker processes to exit; workers still there
// then are killed. It does not remove the task's IIS objects
// (DestroyTask does).
func (d *Driver) StopTask(taskID string, timeout time.Duration, signal string) error {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return drivers.ErrTaskNotFound
	}
	return h.stop(timeout, signal)
}

// DestroyTask removes everything the task created, and only that, and
// forgets the task. A running task is stopped first when force is set and
// refused otherwise. Unknown task ids are not an error.
func (d *Driver) DestroyTask(taskID string, force bool) error {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil
	}
	return d.destroyTask(h, force)
}

// InspectTask reports the task's state, from the monitor's last look at it.
func (d *Driver) InspectTask(taskID string) (*drivers.TaskStatus, error) {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, drivers.ErrTaskNotFound
	}
	return h.status(), nil
}

// TaskStats streams the CPU and memory use of every worker process of every
// pool of the task, every interval, until ctx ends.
func (d *Driver) TaskStats(ctx context.Context, taskID string, interval time.Duration) (<-chan *cstructs.TaskResourceUsage, error) {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, drivers.ErrTaskNotFound
	}
	ch := make(chan *cstructs.TaskResourceUsage)
	go d.handleStats(ctx, h, interval, ch)
	return ch, nil
}

// TaskEvents streams the driver's task events.
func (d *Driver) TaskEvents(ctx context.Context) (<-chan *drivers.TaskEvent, error) {
	return d.eventer.TaskEvents(ctx)
}

// SignalTask acts on all pools of the task: SIGHUP or RECYCLE recycles,
// STOP stops (the task keeps running), START starts, SIGINT or SIGKILL
// removes the site and pools and ends the task. Names are case-insensitive.
func (d *Driver) SignalTask(taskID, signal string) error {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return drivers.ErrTaskNotFound
	}
	return h.signal(signal)
}

// handleWait delivers h's exit result on ch once it exits.
func (d *Driver) handleWait(ctx context.Context, h *taskHandle, ch chan<- *drivers.ExitResult) {
	defer close(ch)
	select {
	case <-ctx.Done():
		return
	case <-d.ctx.Done():
		return
	case <-h.doneCh:
	}
	select {
	case <-ctx.Done():
	case <-d.ctx.Done():
	case ch <- h.result():
	}
}

// backend returns the current settings and IIS client; nil before SetConfig.
func (d *Driver) backend() (*driverSettings, *ps.IIS) {
	d.configLock.RLock()
	defer d.configLock.RUnlock()
	return d.settings, d.iis
}
