package driver

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/nomad-iis/nomad-iis/ps"
)

// recoverTask rebuilds a task's handle from the state StartTask persisted.
// It checks that the site and pools still exist; when they do not, it
// removes what is left of the task (Nomad then starts it again under the
// same names) and fails. When the backend cannot answer, the task is
// recovered anyway and its monitor checks it once the backend is back.
func (d *Driver) recoverTask(handle *drivers.TaskHandle) error {
	s, iis := d.backend()
	if iis == nil {
		return errors.New("cannot recover the task: the iis driver has no configuration yet")
	}
	if handle.Version < oldestTaskHandleVersion || handle.Version > taskHandleVersion {
		return fmt.Errorf("cannot recover the task: its state has version %d, this driver reads versions %d to %d", handle.Version, oldestTaskHandleVersion, taskHandleVersion)
	}
	var state TaskState
	if err := handle.GetDriverState(&state); err != nil {
		return fmt.Errorf("cannot recover the task: failed to decode its state: %w", err)
	}
	untracked := state.upgrade(handle.Version)
	if state.SiteName == "" || len(state.AppPools) == 0 {
		return errors.New("cannot recover the task: its state names no site or application pool")
	}
	h := newTaskHandle(d, handle.Config, iis, s.callTimeout)
	h.state, h.recovered = state, true
	if len(untracked) > 0 {
		names := strings.Join(untracked, ", ")
		h.logger.Warn("the task was started by an older driver version: its auto-start providers stay registered when it ends", "providers", names)
		h.emit("Warning: auto-start providers stay registered when this task ends (it was started by an older driver version, which did not record which ones it created): " + names)
	}
	if err := h.checkRecovered(); err != nil {
		h.cancel()
		return fmt.Errorf("cannot recover the task: %w", err)
	}

	if !d.tasks.SetIfAbsent(h.ref.taskID, h) {
		// A concurrent RecoverTask of the same task won: it runs the task.
		h.cancel()
		return nil
	}
	h.start(logBaselines{
		w3c: snapshotSizes("", w3cPattern(s.IISLogDir, state.SiteID)),
		app: snapshotSizes(state.TaskDir, state.AppLogFile),
	})
	h.logger.Info("task recovered", "site", state.SiteName)
	h.emit("Recovered, Name: " + state.SiteName)
	return nil
}

// checkRecovered reads a recovered task's pools and site. Pools found
// stopped are held (most likely stopped on purpose while the plugin was
// away); a task that is over anyway is removed and the reason returned. A
// backend that does not answer is no error: the monitor checks later.
func (h *taskHandle) checkRecovered() error {
	ctx, cancel := h.callCtx()
	pools, perr := h.client().GetAppPools(ctx, h.state.poolNames()...)
	site, serr := h.client().GetWebsite(ctx, h.state.SiteName)
	cancel()
	switch {
	case errors.Is(perr, ps.ErrUnavailable) || errors.Is(serr, ps.ErrUnavailable):
		h.logger.Warn("recovering the task without checking it: the IIS backend does not answer", "error", errors.Join(perr, serr))
		return nil
	case perr != nil:
		return fmt.Errorf("cannot read its application pools: %w", perr)
	case serr != nil && !errors.Is(serr, ps.ErrNotFound):
		return fmt.Errorf("cannot read its website: %w", serr)
	case serr != nil:
		site = nil
	}
	var held []string
	for _, p := range pools {
		if p.State == ps.StateStopped {
			held = append(held, p.Name)
		}
	}
	h.setHeld(held, true)
	if reason := judge(&h.state, pools, site, h.held); reason != "" {
		_ = h.removeObjects(h.state.removeArgs())
		return errors.New(reason)
	}
	if len(held) > 0 {
		h.emit("Recovered with stopped application pools: " + strings.Join(held, ", "))
	}
	return nil
}
