package driver

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shirou/gopsutil/v4/process"
)

const (
	// destroyStopTimeout is how long a forced DestroyTask of a running task
	// waits for its workers before killing them.
	destroyStopTimeout = 5 * time.Second
	// workerPollInterval is how often a stop checks whether the pools'
	// workers have exited. IIS has no event for it.
	workerPollInterval = 200 * time.Millisecond
	// pidReuseSlack is how far a process's start time may be from the one
	// IIS reported for a worker before the PID is taken as reused.
	pidReuseSlack = 2 * time.Second
)

// stop runs the stop sequence once: the pre-stop hook, then the pools are
// stopped and their workers given timeout to exit, then the task exits with
// code 0. A task that already exited is left alone.
func (h *taskHandle) stop(timeout time.Duration, signal string) error {
	if !h.beginStop() {
		return nil
	}
	h.logger.Info("stopping task", "timeout_ms", timeout.Milliseconds(), "signal", signal)
	h.runHookOrWarn(ps.HookPreStop)
	err := h.stopPools(timeout)
	h.exit(&drivers.ExitResult{})
	return err
}

// stopPools asks every pool of the task to stop, waits until their workers
// have exited or timeout passed, then kills the workers that remain.
func (h *taskHandle) stopPools(timeout time.Duration) error {
	names := h.state.poolNames()
	var errs []error
	for _, alias := range sortedKeys(h.state.AppPools) {
		name := h.state.AppPools[alias]
		ctx, cancel := h.callCtx()
		_, err := h.client().StopAppPool(ctx, name, 0)
		cancel()
		switch {
		case errors.Is(err, ps.ErrNotFound):
		case err != nil:
			errs = append(errs, fmt.Errorf("stop application pool %s: %w", name, err))
		default:
			h.emit(fmt.Sprintf("ApplicationPool stopped: %s (%s)", alias, name))
		}
	}

	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := h.callCtx()
		pools, err := h.client().GetAppPools(ctx, names...)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("read application pools: %w", err))
			break
		}
		workers := liveWorkers(pools)
		if len(workers) == 0 {
			break
		}
		left := time.Until(deadline)
		if left <= 0 {
			h.killWorkers(workers, timeout)
			break
		}
		select {
		case <-h.d.ctx.Done():
			return errors.Join(append(errs, h.d.ctx.Err())...)
		case <-time.After(min(left, workerPollInterval)):
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("stop task: %w", errors.Join(errs...))
	}
	return nil
}

// poolWorker is one worker process and the pool it serves.
type poolWorker struct {
	pool string
	ps.WorkerProcess
}

// liveWorkers lists the worker processes of pools, sorted by PID.
func liveWorkers(pools []ps.AppPool) []poolWorker {
	var out []poolWorker
	for _, p := range pools {
		for _, w := range p.WorkerProcesses {
			out = append(out, poolWorker{pool: p.Name, WorkerProcess: w})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ProcessID < out[j].ProcessID })
	return out
}

// killWorkers kills workers that outlived the stop timeout. A PID whose
// process started at another time than IIS reported is not the worker any
// more and is left alone.
func (h *taskHandle) killWorkers(workers []poolWorker, timeout time.Duration) {
	for _, w := range workers {
		p, err := process.NewProcess(int32(w.ProcessID))
		if err != nil {
			continue // already gone
		}
		if !w.StartTime.IsZero() {
			if ms, err := p.CreateTime(); err == nil {
				if diff := time.UnixMilli(ms).Sub(w.StartTime); diff > pidReuseSlack || diff < -pidReuseSlack {
					continue
				}
			}
		}
		if err := p.Kill(); err != nil {
			h.logger.Warn("cannot kill worker process", "pid", w.ProcessID, "app_pool", w.pool, "error", err)
			continue
		}
		h.logger.Warn("killed worker process that outlived the kill timeout", "pid", w.ProcessID, "app_pool", w.pool)
		h.emit(fmt.Sprintf("Killed worker process %d of application pool %s: it did not exit within %s", w.ProcessID, w.pool, timeout))
	}
}

// destroyTask removes the task's IIS objects, ends its goroutines and
// forgets it. A running task is stopped first when force is set.
func (d *Driver) destroyTask(h *taskHandle, force bool) error {
	if h.isRunning() {
		if !force {
			return errors.New("cannot destroy a running task: stop it first, or destroy with force")
		}
		if err := h.stop(destroyStopTimeout, ""); err != nil {
			h.logger.Warn("forced stop before destroy failed", "error", err)
		}
	}
	err := h.remove()
	h.cancel()
	h.wg.Wait()
	if err == nil {
		h.runHookOrWarn(ps.HookPostStop)
	}
	d.tasks.Delete(h.ref.taskID)
	return err
}

// remove removes what the task created, once.
func (h *taskHandle) remove() error {
	h.stateLock.Lock()
	h.stopping = true
	done := h.removed
	h.stateLock.Unlock()
	if done {
		return nil
	}
	if err := h.removeObjects(h.state.removeArgs()); err != nil {
		return err
	}
	h.stateLock.Lock()
	h.removed = true
	h.stateLock.Unlock()
	h.logger.Info("removed the task's site and pools", "site", h.state.SiteName)
	return nil
}
