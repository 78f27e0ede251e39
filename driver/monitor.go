package driver

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/nomad-iis/nomad-iis/ps"
)

// The monitor watches a running task's pools and site: it is how the driver
// learns that someone stopped or removed them outside Nomad.

// exitCodeOutside is the exit code of a task whose site or pool was stopped
// or removed outside Nomad: a failure, so that the restart policy acts.
const exitCodeOutside = 1

// runMonitor polls the task's pools and site every interval (and when asked
// through refreshCh) until the task exits or the handle is destroyed. When
// it finds them stopped or removed by someone else, it ends the task with
// exit code 1 and a task event saying what happened.
func (h *taskHandle) runMonitor(interval time.Duration) {
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
				h.emit(msg)
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
	crashes := workerCrashEvents(h.pools, pools)
	h.pools, h.site, h.polledAt = pools, site, time.Now()
	held := maps.Clone(h.held)
	busy := h.stopping || h.procState != drivers.TaskStateRunning
	h.stateLock.Unlock()
	for _, msg := range crashes {
		h.logger.Warn("worker process exited unexpectedly", "reason", msg)
		h.emit(msg)
	}
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
		case p.State == ps.StateStopped && !held[name] && p.StopReason == ps.StopReasonRapidFailProtection:
			return fmt.Sprintf("application pool %s was stopped by rapid-fail protection (its worker processes crashed too often: by default 5 times within 5 minutes)", name)
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

// workerCrashEvents compares the pools of two polls and says, per pool,
// how many worker processes exited on their own in between (the backend's
// AppPool.WorkerCrashes). A pool without a previous reading has no
// baseline yet; a count lower than before started again (a new pool or a
// restarted service) and counts from zero.
func workerCrashEvents(prev, cur []ps.AppPool) []string {
	before := make(map[string]int, len(prev))
	for _, p := range prev {
		before[strings.ToLower(p.Name)] = p.WorkerCrashes
	}
	var out []string
	for _, p := range cur {
		old, ok := before[strings.ToLower(p.Name)]
		if !ok {
			continue
		}
		n := p.WorkerCrashes - old
		if p.WorkerCrashes < old {
			n = p.WorkerCrashes
		}
		switch {
		case n == 1:
			out = append(out, fmt.Sprintf("application pool %s: a worker process exited unexpectedly (it crashed or was killed)", p.Name))
		case n > 1:
			out = append(out, fmt.Sprintf("application pool %s: %d worker processes exited unexpectedly (they crashed or were killed)", p.Name, n))
		}
	}
	return out
}
