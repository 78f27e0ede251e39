package launcher

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// driverName is the name the plugin registers its driver under.
const driverName = "iis"

// pollInterval is how often waits look again.
const pollInterval = 250 * time.Millisecond

// waitFor polls ready until it reports true. It fails at once when the
// agent exits, and after ReadyTimeout with what ready last reported.
func (c *Cluster) waitFor(ctx context.Context, r *role, p *agentProcess, ready func() (bool, string)) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	status := "it does not answer yet"
	for {
		select {
		case <-p.done:
			return fmt.Errorf("launcher: the %s agent exited during start (%v); the end of %s:\n%s",
				r.name, p.err, r.logPath, logTail(r.logPath, 40))
		case <-ctx.Done():
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("launcher: waiting for the %s agent: %w", r.name, ctx.Err())
			}
			return fmt.Errorf("launcher: the %s agent is not ready after %s: %s; the end of %s:\n%s",
				r.name, c.cfg.ReadyTimeout, status, r.logPath, logTail(r.logPath, 40))
		case <-tick.C:
		}
		ok, s := ready()
		if ok {
			return nil
		}
		status = s
	}
}

// clientReadiness reports whether the client's node is ready with a healthy
// iis driver fingerprinted after since (so that a restart is not satisfied
// by the state the server kept from before), and what is missing when not.
func (c *Cluster) clientReadiness(since time.Time) (bool, string) {
	return c.nodeReadiness(firstClientName, since)
}
