package driver

import (
	"context"
	"errors"
	"fmt"

	"github.com/nomad-iis/nomad-iis/ps"
)

// runHook runs one admin extension hook (PreStart, PostStart, PreStop,
// PostStop) of every extension script loaded by the backend, with the
// task's context. It is a no-op when no extensions_dir is configured. The
// error of a failing hook carries the script's own message; the caller
// decides whether it fails the task (only PreStart does).
func (h *taskHandle) runHook(hook string) error {
	s, _ := h.d.backend()
	if s == nil || s.ExtensionsDir == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(h.d.ctx, s.callTimeout)
	defer cancel()
	res, err := h.client().InvokeHook(ctx, hook, h.hookContext())
	if err != nil {
		msg := err.Error()
		var pe *ps.Error
		if errors.As(err, &pe) {
			msg = pe.Message
		}
		h.logger.Warn("admin extension hook failed", "hook", hook, "error", msg)
		return &hookError{hook: hook, msg: msg, err: err}
	}
	for _, r := range res.Runs {
		h.logger.Debug("admin extension hook ran", "hook", hook, "extension", r.Extension, "output", r.Output)
	}
	if len(res.Runs) > 0 {
		h.emit(fmt.Sprintf("Admin extension hook %s ran (%d extensions)", hook, len(res.Runs)))
	}
	return nil
}

// runHookOrWarn runs a hook whose failure does not fail the task
// (PostStart, PreStop, PostStop): the failure becomes a warning event.
func (h *taskHandle) runHookOrWarn(hook string) {
	if err := h.runHook(hook); err != nil {
		h.emit("Warning: " + err.Error())
	}
}

// hookContext is what the admin extension hooks are told about the task.
func (h *taskHandle) hookContext() ps.HookContext {
	return ps.HookContext{
		AllocID:   h.cfg.AllocID,
		TaskName:  h.cfg.Name,
		JobName:   h.cfg.JobName,
		Namespace: h.cfg.Namespace,
		TaskDir:   h.state.TaskDir,
		SiteName:  h.state.SiteName,
		AppPools:  h.state.poolNames(),
	}
}

// hookError is a failed hook: its message is the script's, and it wraps the
// backend error so that callers can tell a script failure from an
// unavailable backend.
type hookError struct {
	hook, msg string
	err       error
}

// Error says which hook failed, with the script's message.
func (e *hookError) Error() string {
	return fmt.Sprintf("admin extension hook %s failed: %s", e.hook, e.msg)
}

// Unwrap is the backend error.
func (e *hookError) Unwrap() error { return e.err }
