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
	if handle.Version != taskHandleVersion {
		return fmt.Errorf("cannot recover the task: its state has version %d, this driver reads version %d", handle.Version, taskHandleVersion)
	}
	var state TaskState
	if err := handle.GetDriverState(&state); err != nil {
		return fmt.Errorf("cannot recover the task: failed to decode its state: %w", err)
	}
	if state.SiteName == "" || len(state.AppPools) == 0 {
		return errors.New("cannot recover the task: its state names no site or application pool")
	}
	cfg := handle.Config
	ref := refOf(cfg)
	h := newTaskHandle(d, cfg, state, iis, s.callTimeout, true)

	ctx, cancel := h.callCtx()
	pools, perr := iis.GetAppPools(ctx, state.poolNames()...)
	site, serr := iis.GetWebsite(ctx, state.SiteName)
	cancel()
	switch {
	case errors.Is(perr, ps.ErrUnavailable) || errors.Is(serr, ps.ErrUnavailable):
		h.logger.Warn("recovering the task without checking it: the IIS backend does not answer", "error", errors.Join(perr, serr))
	case perr != nil:
		h.cancel()
		return fmt.Errorf("cannot recover the task: cannot read its application pools: %w", perr)
	case serr != nil && !errors.Is(serr, ps.ErrNotFound):
		h.cancel()
		return fmt.Errorf("cannot recover the task: cannot read its website: %w", serr)
	default:
		if serr != nil {
			site = nil
		}
		// Pools stopped while the plugin was away were most likely stopped
		// on purpose (the STOP signal or the Management API): keep the task.
		var held []string
		for _, p := range pools {
			if p.State == ps.StateStopped {
				held = append(held, p.Name)
			}
		}
		h.setHeld(held, true)
		if reason := judge(&state, pools, site, h.held); reason != "" {
			_ = d.removeObjects(ref, iis, s.callTimeout, state.removeArgs(), h.logger)
			h.cancel()
			return fmt.Errorf("cannot recover the task: %s", reason)
		}
		if len(held) > 0 {
			d.emitEvent(ref, "Recovered with stopped application pools: "+strings.Join(held, ", "), nil)
		}
	}

	if !d.tasks.SetIfAbsent(cfg.ID, h) {
		// A concurrent RecoverTask of the same task won: it runs the task.
		h.cancel()
		return nil
	}
	d.runHandle(h, logBaselines{
		w3c: snapshotSizes(w3cPattern(s.IISLogDir, state.SiteID)),
		app: snapshotSizes(state.AppLogFile),
	})
	h.logger.Info("task recovered", "site", state.SiteName)
	d.emitEvent(ref, "Recovered, Name: "+state.SiteName, nil)
	return nil
}

// runHandle starts a handle's goroutines: the monitor and the two log
// forwarders (which open the task's log pipes at once).
func (d *Driver) runHandle(h *taskHandle, logs logBaselines) {
	s, _ := d.backend()
	h.wg.Add(1)
	go h.runMonitor(d.opts.MonitorInterval, func(msg string) {
		d.emitEvent(h.ref, msg, nil)
	})
	if h.cfg.StdoutPath != "" {
		var aliases []string
		if !h.state.OwnsSite {
			aliases = h.state.ApplicationAliases
		}
		src := newTailer(w3cPattern(s.IISLogDir, h.state.SiteID), logs.w3c, newW3CFilter(aliases))
		h.wg.Add(1)
		go h.runLogForwarder(h.cfg.StdoutPath, src, d.opts.LogPollInterval)
	}
	if h.cfg.StderrPath != "" {
		var src *tailer
		if h.state.AppLogFile != "" {
			src = newTailer(h.state.AppLogFile, logs.app, nil)
		}
		h.wg.Add(1)
		go h.runLogForwarder(h.cfg.StderrPath, src, d.opts.LogPollInterval)
	}
}
