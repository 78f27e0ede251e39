package driver

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/nomad-iis/nomad-iis/ps"
)

// exitCodeOutside is the exit code of a task whose site or pool was stopped
// or removed outside Nomad: a failure, so that the restart policy acts.
const exitCodeOutside = 1

// taskHandle is one running task: its IIS objects, the goroutine that
// watches them (runMonitor) and the log forwarders. The monitor is the only
// goroutine that decides the task ended on its own; the driver ends it on
// StopTask and on SIGINT/SIGKILL. Either way, exit closes doneCh once.
type taskHandle struct {
	// The fields up to stateLock are set at creation and never change.

	ref    taskRef
	cfg    *drivers.TaskConfig
	state  TaskState
	logger hclog.Logger
	// client returns the backend client: the driver's current one (a
	// SetConfig may replace it), else the one the task started with.
	client func() *ps.IIS
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

// newTaskHandle makes the handle of a started or recovered task.
func newTaskHandle(d *Driver, cfg *drivers.TaskConfig, state TaskState, iis *ps.IIS, callTimeout time.Duration, recovered bool) *taskHandle {
	ctx, cancel := context.WithCancel(d.ctx)
	return &taskHandle{
		ref:    refOf(cfg),
		cfg:    cfg,
		state:  state,
		logger: d.logger.With("task_id", cfg.ID, "alloc_id", cfg.AllocID, "task_name", cfg.Name),
		client: func() *ps.IIS {
			if c := d.IIS(); c != nil {
				return c
			}
			return iis
		},
		callTimeout: callTimeout,
		recovered:   recovered,
		doneCh:      make(chan struct{}),
		ctx:         ctx,
		cancel:      cancel,
		refreshCh:   make(chan struct{}, 1),
		procState:   drivers.TaskStateRunning,
		held:        map[string]bool{},
	}
}

// callCtx is a context for one backend call of the handle.
func (h *taskHandle) callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(h.ctx, h.callTimeout)
}

// runMonitor polls the task's pools and site every interval (and when asked
// through refreshCh) until the task exits or the handle is destroyed. When
// it finds them stopped or removed by someone else, it ends the task with
// exit code 1 and a message saying what happened.
func (h *taskHandle) runMonitor(interval time.Duration, onExit func(msg string)) {
	defer h.wg.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-h.doneCh:
			return
		case <-timer.C:
		case <-h.refreshCh:
		}
		if msg := h.poll(); msg != "" {
			res := &drivers.ExitResult{ExitCode: exitCodeOutside, Err: errors.New(msg)}
			if h.exitUnlessStopping(res) {
				h.logger.Warn("task ended outside Nomad", "reason", msg)
				onExit(msg)
			}
			return
		}
		timer.Reset(interval)
	}
}

// refresh asks the monitor to poll at once.
func (h *taskHandle) refresh() {
	select {
	case h.refreshCh <- struct{}{}:
	default:
	}
}

// poll reads the pools and the site, publishes what it saw, and returns why
// the task is over, or "" while it runs. Backend errors are not a reason:
// the next poll tries again.
func (h *taskHandle) poll() string {
	ctx, cancel := h.callCtx()
	defer cancel()
	h.stateLock.RLock()
	gen := h.heldGen
	h.stateLock.RUnlock()
	pools, err := h.client().GetAppPools(ctx, h.state.poolNames()...)
	if err != nil {
		h.logger.Debug("cannot read the application pools", "error", err)
		return ""
	}
	site, err := h.client().GetWebsite(ctx, h.state.SiteName)
	missing := errors.Is(err, ps.ErrNotFound)
	if err != nil && !missing {
		h.logger.Debug("cannot read the website", "site", h.state.SiteName, "error", err)
		return ""
	}

	h.stateLock.Lock()
	if h.heldGen != gen {
		// A pool was stopped or started on purpose while this poll ran:
		// what it saw may predate that (a pool seen stopped just before
		// the API started it again). Poll again instead of judging.
		h.stateLock.Unlock()
		h.refresh()
		return ""
	}
	h.pools, h.site, h.polledAt = pools, site, time.Now()
	held := make(map[string]bool, len(h.held))
	for k, v := range h.held {
		held[k] = v
	}
	busy := h.stopping || h.procState != drivers.TaskStateRunning
	h.stateLock.Unlock()
	if busy {
		return ""
	}
	return judge(&h.state, pools, site, held)
}

// judge says why a task whose pools and site look like this is over: a
// pool or the site removed, a pool stopped without being held, the owned
// site stopped, an application gone from the target website. "" means the
// task runs. site is nil when it does not exist.
func judge(s *TaskState, pools []ps.AppPool, site *ps.Website, held map[string]bool) string {
	byName := map[string]ps.AppPool{}
	for _, p := range pools {
		byName[strings.ToLower(p.Name)] = p
	}
	for _, name := range s.poolNames() {
		p, ok := byName[strings.ToLower(name)]
		switch {
		case !ok:
			return fmt.Sprintf("application pool %s was removed outside Nomad", name)
		case p.State == ps.StateStopped && !held[name]:
			return fmt.Sprintf("application pool %s was stopped outside Nomad", name)
		}
	}
	if s.OwnsSite {
		switch {
		case site == nil:
			return fmt.Sprintf("website %s was removed outside Nomad", s.SiteName)
		case site.State == ps.StateStopped:
			return fmt.Sprintf("website %s was stopped outside Nomad", s.SiteName)
		}
		return ""
	}
	if site == nil {
		return fmt.Sprintf("target website %s was removed outside Nomad", s.SiteName)
	}
	if site.State == ps.StateStopped {
		return fmt.Sprintf("target website %s was stopped outside Nomad", s.SiteName)
	}
	apps := map[string]bool{}
	for _, a := range site.Applications {
		apps[strings.ToLower(strings.Trim(a.Path, "/"))] = true
	}
	for _, alias := range s.ApplicationAliases {
		if !apps[strings.ToLower(alias)] {
			return fmt.Sprintf("application /%s was removed from website %s outside Nomad", alias, s.SiteName)
		}
	}
	return ""
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
