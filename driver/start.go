package driver

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/nomad-iis/nomad-iis/ps"
)

// startTask runs StartTask's steps: decode, validate, create (one
// transaction), persist, watch.
func (d *Driver) startTask(cfg *drivers.TaskConfig) (*drivers.TaskHandle, *drivers.DriverNetwork, error) {
	s, iis := d.backend()
	if iis == nil {
		return nil, nil, errors.New("the iis driver has no configuration yet")
	}
	var tc TaskConfig
	if err := cfg.DecodeDriverConfig(&tc); err != nil {
		releaseLogPipes(d.ctx, cfg)
		return nil, nil, fmt.Errorf("failed to decode the task config: %w", err)
	}
	plan, err := planTask(&tc, cfg, s, os.Environ())
	if err != nil {
		releaseLogPipes(d.ctx, cfg)
		return nil, nil, err
	}

	h := newTaskHandle(d, cfg, iis, s.callTimeout)
	for _, w := range plan.warnings {
		h.logger.Warn("task config setting ignored", "warning", w)
		h.emit("Warning: " + w)
	}
	logs, err := h.create(s, plan)
	if err != nil {
		h.cancel()
		h.logger.Error("failed to start task", "error", err)
		releaseLogPipes(d.ctx, cfg)
		if errors.Is(err, ps.ErrUnavailable) {
			return nil, nil, structs.NewRecoverableError(err, true)
		}
		return nil, nil, err
	}

	handle := drivers.NewTaskHandle(taskHandleVersion)
	handle.Config = cfg
	handle.State = drivers.TaskStateRunning
	if err := handle.SetDriverState(&h.state); err != nil {
		_ = h.removeObjects(h.state.removeArgs())
		h.cancel()
		return nil, nil, fmt.Errorf("failed to encode the task state: %w", err)
	}
	d.tasks.Set(cfg.ID, h)
	h.start(logs)

	h.logger.Info("task started", "site", h.state.SiteName, "owns_site", h.state.OwnsSite, "app_pools", strings.Join(h.state.poolNames(), ","))
	h.emit("Application started, Name: " + h.state.SiteName)
	return handle, nil, nil
}
