package launcher

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/nomad/api"
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
	nodes, _, err := c.nomad.Nodes().List(nil)
	if err != nil || len(nodes) == 0 {
		return false, "the client node is not registered yet"
	}
	node, _, err := c.nomad.Nodes().Info(nodes[0].ID, nil)
	if err != nil {
		return false, fmt.Sprintf("node %s: %v", nodes[0].ID, err)
	}
	if node.Status != api.NodeStatusReady {
		return false, fmt.Sprintf("node %s is %s", node.ID, node.Status)
	}
	d := node.Drivers[driverName]
	switch {
	case d == nil:
		return false, fmt.Sprintf("the %s driver is not fingerprinted yet (is the plugin loaded?)", driverName)
	case !d.Detected || !d.Healthy:
		return false, fmt.Sprintf("the %s driver is detected=%t healthy=%t: %s", driverName, d.Detected, d.Healthy, d.HealthDescription)
	case d.UpdateTime.Before(since):
		return false, fmt.Sprintf("the %s driver has not been fingerprinted since the client started", driverName)
	}
	return true, ""
}
