package driver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/nomad-iis/nomad-iis/ps"
)

// startRetryDelay is the pause before the one retry of a pool start that
// failed (IIS can refuse to start a pool right after it stopped).
const startRetryDelay = 2 * time.Second

// Signal numbers reported in the exit result of a task ended by SIGINT or
// SIGKILL.
const (
	signalInterrupt = 2
	signalKill      = 9
)

// signal applies a signal to all pools of the task, as nomad-iis 0.20
// documents; SIGINT and SIGKILL also end the task so that its restart
// policy sees it.
func (h *taskHandle) signal(signal string) error {
	if !h.isRunning() {
		return fmt.Errorf("cannot send %s: the task has exited", signal)
	}
	defer h.refresh()
	switch strings.ToUpper(strings.TrimSpace(signal)) {
	case "SIGHUP", "RECYCLE":
		return h.forEachPool("recycled", func(ctx context.Context, name string) error {
			_, err := h.client().RecycleAppPool(ctx, name)
			return err
		})
	case "STOP":
		h.setHeld(h.state.poolNames(), true)
		return h.forEachPool("stopped", func(ctx context.Context, name string) error {
			_, err := h.client().StopAppPool(ctx, name, 0)
			return err
		})
	case "START":
		return h.forEachPool("started", func(ctx context.Context, name string) error {
			_, err := h.client().StartAppPool(ctx, name)
			if err != nil && !errors.Is(err, ps.ErrNotFound) {
				select {
				case <-ctx.Done():
					return err
				case <-time.After(startRetryDelay):
				}
				_, err = h.client().StartAppPool(ctx, name)
			}
			if err == nil {
				h.setHeld([]string{name}, false)
			}
			return err
		})
	case "SIGINT":
		return h.kill("SIGINT", signalInterrupt)
	case "SIGKILL":
		return h.kill("SIGKILL", signalKill)
	default:
		return fmt.Errorf("signal %q is not supported by the iis driver; use SIGHUP or RECYCLE (recycle the pools), STOP, START, or SIGINT or SIGKILL (remove the site and end the task)", signal)
	}
}

// forEachPool runs op on every pool of the task, emits one event per pool
// that was acted on ("ApplicationPool <verb>: <alias> (<name>)") and
// returns the failures together.
func (h *taskHandle) forEachPool(verb string, op func(ctx context.Context, name string) error) error {
	var errs []error
	for _, alias := range sortedKeys(h.state.AppPools) {
		name := h.state.AppPools[alias]
		ctx, cancel := context.WithTimeout(h.ctx, h.callTimeout+startRetryDelay)
		err := op(ctx, name)
		cancel()
		if err != nil {
			errs = append(errs, fmt.Errorf("application pool %s: %w", name, err))
			continue
		}
		h.logger.Info("application pool "+verb, "app_pool", name)
		h.emit(fmt.Sprintf("ApplicationPool %s: %s (%s)", verb, alias, name))
	}
	return errors.Join(errs...)
}

// kill removes the task's site and pools and ends the task with the
// signal, so that Nomad's restart policy decides what happens next.
func (h *taskHandle) kill(name string, signal int) error {
	if !h.beginStop() {
		return nil
	}
	h.runHookOrWarn(ps.HookPreStop)
	err := h.remove()
	h.exit(&drivers.ExitResult{Signal: signal, Err: fmt.Errorf("%s: the site and application pools were removed", name)})
	h.emit(fmt.Sprintf("Received %s: removed the site and application pools; the task ends", name))
	return err
}
