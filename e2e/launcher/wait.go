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

// waitReady waits until the agent answers, its node is ready and the iis
// driver reports healthy in a fingerprint taken after since (so that a
// restart is not satisfied by the state the server kept from before). It
// fails at once when the agent exits.
func (a *Agent) waitReady(ctx context.Context, p *agentProcess, since time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	status := "the agent does not answer yet"
	for {
		select {
		case <-p.done:
			return fmt.Errorf("launcher: the agent exited during start (%v); the end of %s:\n%s", p.err, a.logPath, a.LogTail(40))
		case <-ctx.Done():
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("launcher: waiting for the agent: %w", ctx.Err())
			}
			return fmt.Errorf("launcher: the agent is not ready after %s: %s; the end of %s:\n%s",
				a.cfg.ReadyTimeout, status, a.logPath, a.LogTail(40))
		case <-tick.C:
		}
		ok, s := a.readiness(since)
		status = s
		if ok {
			return nil
		}
	}
}

// readiness reports whether the node is ready with a healthy iis driver, and
// what is missing when it is not.
func (a *Agent) readiness(since time.Time) (bool, string) {
	health, err := a.client.Agent().Health()
	if err != nil {
		return false, "the agent does not answer yet"
	}
	if health.Server == nil || !health.Server.Ok || health.Client == nil || !health.Client.Ok {
		return false, "the agent's server or client is not healthy yet"
	}
	nodes, _, err := a.client.Nodes().List(nil)
	if err != nil || len(nodes) == 0 {
		return false, "the client node is not registered yet"
	}
	node, _, err := a.client.Nodes().Info(nodes[0].ID, nil)
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
		return false, fmt.Sprintf("the %s driver has not been fingerprinted since the start", driverName)
	}
	return true, ""
}

// NodeID is the ID of the agent's client node.
func (a *Agent) NodeID() (string, error) {
	nodes, _, err := a.client.Nodes().List(nil)
	if err != nil {
		return "", fmt.Errorf("launcher: list nodes: %w", err)
	}
	if len(nodes) == 0 {
		return "", fmt.Errorf("launcher: no client node")
	}
	return nodes[0].ID, nil
}
