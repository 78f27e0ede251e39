package driver

import (
	"context"
	"errors"
	"fmt"

	"github.com/hashicorp/go-hclog"
	"github.com/nomad-iis/nomad-iis/ps"
)

// runHook runs one admin extension hook (PreStart, PostStart, PreStop,
// PostStop) of every extension script loaded by the backend, with the
// task's context. It is a no-op when no extensions_dir is configured. The
// error of a failing hook carries the script's own message; the caller
// decides whether it fails the task (only PreStart does).
func (d *Driver) runHook(iis *ps.IIS, s *driverSettings, hook string, hc ps.HookContext, ref taskRef, logger hclog.Logger) error {
	if s.ExtensionsDir == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(d.ctx, s.callTimeout)
	defer cancel()
	res, err := iis.InvokeHook(ctx, hook, hc)
	if err != nil {
		msg := err.Error()
		var pe *ps.Error
		if errors.As(err, &pe) {
			msg = pe.Message
		}
		logger.Warn("admin extension hook failed", "hook", hook, "error", msg)
		return &hookError{hook: hook, msg: msg, err: err}
	}
	for _, r := range res.Runs {
		logger.Debug("admin extension hook ran", "hook", hook, "extension", r.Extension, "output", r.Output)
	}
	if len(res.Runs) > 0 {
		d.emitEvent(ref, fmt.Sprintf("Admin extension hook %s ran (%d extensions)", hook, len(res.Runs)), nil)
	}
	return nil
}

// hookError is a failed hook: its message is the script's, and it wraps the
// backend error so that callers can tell a script failure from an
// unavailable backend.
type hookError struct {
	hook, msg string
	err       error
}

func (e *hookError) Error() string {
	return fmt.Sprintf("admin extension hook %s failed: %s", e.hook, e.msg)
}
func (e *hookError) Unwrap() error { return e.err }
