package driver

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/nomad-iis/nomad-iis/ps"
)

// taskHandle is one running task: its IIS objects, the goroutine that
// watches them (runMonitor, in monitor.go) and the log forwarders. It is
// the task's one context: every backend call, task event and log line
// about the task goes through it (taskops.go, hooks.go, stop.go,
// signals.go). The monitor is the only goroutine that decides the task
// ended on its own; the driver ends it on StopTask and on SIGINT/SIGKILL.
// Either way, exit closes doneCh once.
type taskHandle struct {
	// The fields up to stateLock are set before the handle is shared (by
	// newTaskHandle, then by create or recoverTask) and never change.

	// d is the driver that runs the task: its context bounds the task's
	// lifecycle calls, and its eventer carries the task's events.
	d      *Driver
	ref    taskRef
	cfg    *drivers.TaskConfig
	state  TaskState
	logger hclog.Logger
	// iis is the backend client the task started (or was recovered) with;
	// client prefers the driver's current one.
	iis *ps.IIS
	// callTimeout bounds each backend call the handle makes.
	callTimeout time.Duration
	// recovered is true for a handle made by RecoverTask.
	recovered bool
	// doneCh is closed when the task has exited.
	doneCh chan struct{}
	// ctx ends the monitor and the log forwarders (DestroyTask).
	ctx    context.Context
	cancel context.CancelFunc
	// refreshCh asks the monitor to poll now (after a signal).
	refreshCh chan struct{}
	// wg counts the handle's goroutines.
	wg sync.WaitGroup

	// stateLock guards the fields below it.
	stateLock   sync.RWMutex
	procState   drivers.TaskState
	exitResult  *drivers.ExitResult
	completedAt time.Time
	// pools and site are what the monitor saw last; polledAt is when.
	pools    []ps.AppPool
	site     *ps.Website
	polledAt time.Time
	// held are the pools stopped on purpose (the STOP signal or the
	// Management API): the task keeps running while they are stopped.
	held map[string]bool
	// heldGen counts changes of held: a poll that saw a pool before a
	// deliberate stop or start changed held judges nothing.
	heldGen uint64
	// stopping is set once the driver stops or removes the task, so that
	// the monitor does not mistake that for an outside stop.
	stopping bool
	// removed is set once the task's IIS objects are gone.
	removed bool
}

// newTaskHandle makes the handle of a task to start or recover, with the
// task's one logger. Its state is filled by create (a new task) or by
// recoverTask; it is not in the driver's task store yet.
func newTaskHandle(d *Driver, cfg *drivers.TaskConfig, iis *ps.IIS, callTimeout time.Duration) *taskHandle {
	ctx, cancel := context.WithCancel(d.ctx)
	return &taskHandle{
		d:           d,
		ref:         refOf(cfg),
		cfg:         cfg,
		logger:      d.logger.With("task_id", cfg.ID, "alloc_id", cfg.AllocID, "task_name", cfg.Name),
		iis:         iis,
		callTimeout: callTimeout,
		doneCh:      make(chan struct{}),
		ctx:         ctx,
		cancel:      cancel,
		refreshCh:   make(chan struct{}, 1),
		procState:   drivers.TaskStateRunning,
		held:        map[string]bool{},
	}
}

// client is the backend client for the task's calls: the driver's current
// one (a SetConfig may replace it), else the one the task started with.
func (h *taskHandle) client() *ps.IIS {
	if c := h.d.IIS(); c != nil {
		return c
	}
	return h.iis
}

// callCtx is a context for one backend call of the handle's goroutines and
// of stops and signals: it ends with the handle (DestroyTask).
func (h *taskHandle) callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(h.ctx, h.callTimeout)
}

// opCtx is a context for one backend call that creates or removes the
// task's objects: it ends with the driver, not with the handle, so that
// DestroyTask still removes the task after its goroutines ended.
func (h *taskHandle) opCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(h.d.ctx, h.callTimeout)
}

// start starts the handle's goroutines: the monitor and the two log
// forwarders (which open the task's log pipes at once). logs are the log
// files' sizes before the task started, where forwarding begins.
func (h *taskHandle) start(logs logBaselines) {
	s, _ := h.d.backend()
	h.wg.Add(1)
	go h.runMonitor(h.d.opts.MonitorInterval)
	if h.cfg.StdoutPath != "" {
		var aliases []string
		if !h.state.OwnsSite {
			aliases = h.state.ApplicationAliases
		}
		src := newTailer(w3cPattern(s.IISLogDir, h.state.SiteID), logs.w3c, newW3CFilter(aliases))
		h.wg.Add(1)
		go h.runLogForwarder(h.cfg.StdoutPath, src, h.d.opts.LogPollInterval)
	}
	if h.cfg.StderrPath != "" {
		var src *tailer
		if h.state.AppLogFile != "" {
			src = newAppLogTailer(h.state.TaskDir, h.state.AppLogFile, logs.app)
		}
		h.wg.Add(1)
		go h.runLogForwarder(h.cfg.StderrPath, src, h.d.opts.LogPollInterval)
	}
}

// exit ends the task with res unless it already ended. It reports whether
// this call ended it.
func (h *taskHandle) exit(res *drivers.ExitResult) bool {
	h.stateLock.Lock()
	defer h.stateLock.Unlock()
	return h.exitLocked(res)
}

// exitUnlessStopping is exit for the monitor: the driver's own stop wins.
func (h *taskHandle) exitUnlessStopping(res *drivers.ExitResult) bool {
	h.stateLock.Lock()
	defer h.stateLock.Unlock()
	if h.stopping {
		return false
	}
	return h.exitLocked(res)
}

// exitLocked is exit with stateLock held.
func (h *taskHandle) exitLocked(res *drivers.ExitResult) bool {
	if h.procState == drivers.TaskStateExited {
		return false
	}
	h.procState = drivers.TaskStateExited
	h.exitResult = res
	h.completedAt = time.Now()
	close(h.doneCh)
	return true
}

// beginStop marks the task as being stopped by the driver. It reports
// whether the task was still running.
func (h *taskHandle) beginStop() bool {
	h.stateLock.Lock()
	defer h.stateLock.Unlock()
	h.stopping = true
	return h.procState == drivers.TaskStateRunning
}

// isRunning reports whether the task has not exited.
func (h *taskHandle) isRunning() bool {
	h.stateLock.RLock()
	defer h.stateLock.RUnlock()
	return h.procState == drivers.TaskStateRunning
}

// result is the exit result, nil while the task runs.
func (h *taskHandle) result() *drivers.ExitResult {
	h.stateLock.RLock()
	defer h.stateLock.RUnlock()
	return h.exitResult.Copy()
}

// setHeld marks pools as stopped (or started) on purpose.
func (h *taskHandle) setHeld(names []string, held bool) {
	h.stateLock.Lock()
	defer h.stateLock.Unlock()
	h.heldGen++
	for _, n := range names {
		if held {
			h.held[n] = true
		} else {
			delete(h.held, n)
		}
	}
}

// lastSeen returns what the monitor saw last: the pools (sorted by name),
// the site (nil when missing or not polled yet) and when.
func (h *taskHandle) lastSeen() ([]ps.AppPool, *ps.Website, time.Time) {
	h.stateLock.RLock()
	defer h.stateLock.RUnlock()
	pools := append([]ps.AppPool(nil), h.pools...)
	sort.Slice(pools, func(i, j int) bool { return pools[i].Name < pools[j].Name })
	return pools, h.site, h.polledAt
}

// status is the InspectTask answer.
func (h *taskHandle) status() *drivers.TaskStatus {
	pools, _, _ := h.lastSeen()
	h.stateLock.RLock()
	defer h.stateLock.RUnlock()
	attrs := map[string]string{
		"WebsiteName": h.state.SiteName,
		"OwnsWebsite": fmt.Sprint(h.state.OwnsSite),
	}
	for alias, name := range h.state.AppPools {
		attrs["AppPool."+alias] = name
		for _, p := range pools {
			if p.Name == name {
				attrs["AppPool."+alias+".State"] = p.State
			}
		}
	}
	return &drivers.TaskStatus{
		ID:               h.cfg.ID,
		Name:             h.cfg.Name,
		State:            h.procState,
		StartedAt:        h.state.StartedAt,
		CompletedAt:      h.completedAt,
		ExitResult:       h.exitResult.Copy(),
		DriverAttributes: attrs,
	}
}
