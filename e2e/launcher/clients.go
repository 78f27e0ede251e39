package launcher

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

// Names of the client nodes: the first client keeps the name it always
// had; the others are numbered from 2.
const firstClientName = "nomad-iis-client"

// extraClient is a client agent beyond the first (Config.Clients > 1), with
// its own plugin process, iissim state and service, Management API port,
// HTTP port and range of dynamic ports, so that two nodes on one machine
// never hand out the same port.
type extraClient struct {
	role     *role
	name     string
	stateDir string
	httpPort int
	apiPort  int
	// minPort and maxPort bound the node's dynamic ports.
	minPort, maxPort int
}

// dynamicPortSpan is the size of each extra client's dynamic port range,
// taken above Nomad's default range (20000-32000) of the first client.
const dynamicPortSpan = 2000

// prepareExtraClients sets up the directories, ports and configurations of
// the clients beyond the first.
func (c *Cluster) prepareExtraClients(logDir string) error {
	for i := 2; i <= c.cfg.Clients; i++ {
		ports, err := freePorts(0, 0)
		if err != nil {
			return err
		}
		x := &extraClient{
			name:     fmt.Sprintf("%s-%d", firstClientName, i),
			httpPort: ports[0],
			apiPort:  ports[1],
			minPort:  32000 + (i-2)*dynamicPortSpan + 1,
			maxPort:  32000 + (i-1)*dynamicPortSpan,
		}
		x.role = &role{name: fmt.Sprintf("client-%d", i), dataDir: filepath.Join(c.dir, fmt.Sprintf("client-%d", i)),
			configPath: filepath.Join(c.dir, fmt.Sprintf("client-%d.hcl", i)), logPath: filepath.Join(logDir, fmt.Sprintf("client-%d.log", i))}
		if c.cfg.Backend == BackendIISSim {
			x.stateDir = filepath.Join(c.dir, fmt.Sprintf("iissim-%d", i))
		}
		for _, d := range []string{x.role.dataDir, x.stateDir} {
			if d == "" {
				continue
			}
			if err := os.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("launcher: %w", err)
			}
		}
		_ = os.Remove(x.role.logPath)
		cfg := c.clientConfigFor(clientSpec{role: x.role, name: x.name, httpPort: x.httpPort, apiPort: x.apiPort,
			stateDir: x.stateDir, minPort: x.minPort, maxPort: x.maxPort})
		if err := os.WriteFile(x.role.configPath, []byte(cfg), 0o600); err != nil {
			return fmt.Errorf("launcher: write the %s configuration: %w", x.role.name, err)
		}
		c.extra = append(c.extra, x)
	}
	return nil
}

// startExtraClients starts the clients beyond the first, one after the
// other, each ready with a healthy iis driver before the next.
func (c *Cluster) startExtraClients(ctx context.Context) error {
	for _, x := range c.extra {
		started := time.Now()
		p, err := c.spawn(x.role)
		if err != nil {
			return err
		}
		if err := c.waitFor(ctx, x.role, p, func() (bool, string) { return c.nodeReadiness(x.name, started) }); err != nil {
			return err
		}
		c.log.Info("client ready", "node", x.name, "duration_ms", time.Since(started).Milliseconds())
	}
	return nil
}

// stopExtraClients stops the extra clients and their iissim services.
func (c *Cluster) stopExtraClients(ctx, orderly context.Context) error {
	var errs []error
	for _, x := range c.extra {
		if err := c.stopRole(orderly, x.role); err != nil {
			errs = append(errs, err)
		}
		if err := c.stopIISSimAt(ctx, x.stateDir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// stopIISSimAt stops the iissim service of a state directory and its workers.
func (c *Cluster) stopIISSimAt(ctx context.Context, stateDir string) error {
	if stateDir == "" {
		return nil
	}
	if _, err := os.Stat(stateDir); err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.cfg.PluginBin, "iissim", "stop", "--state-dir", stateDir)
	cmd.Env = c.agentEnv()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("launcher: stop iissim (%s): %w: %s", stateDir, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// NodeNames are the client nodes' names, the first client's first.
func (c *Cluster) NodeNames() []string {
	out := []string{firstClientName}
	for _, x := range c.extra {
		out = append(out, x.name)
	}
	return out
}

// ManagementAPIAddresses are the Management APIs' base addresses, one per
// client, in the order of NodeNames.
func (c *Cluster) ManagementAPIAddresses() []string {
	out := []string{c.ManagementAPIAddress()}
	for _, x := range c.extra {
		out = append(out, fmt.Sprintf("http://127.0.0.1:%d", x.apiPort))
	}
	return out
}

// nodeReadiness reports whether the node named name is ready with a
// healthy iis driver fingerprinted after since, and what is missing when not.
func (c *Cluster) nodeReadiness(name string, since time.Time) (bool, string) {
	nodes, _, err := c.nomad.Nodes().List(nil)
	if err != nil {
		return false, "the client nodes are not registered yet"
	}
	for _, n := range nodes {
		if n.Name != name {
			continue
		}
		node, _, err := c.nomad.Nodes().Info(n.ID, nil)
		if err != nil {
			return false, fmt.Sprintf("node %s: %v", n.ID, err)
		}
		return driverReady(node, since)
	}
	return false, fmt.Sprintf("the client node %s is not registered yet", name)
}

// driverReady reports whether node is ready with a healthy iis driver
// fingerprinted after since.
func driverReady(node *api.Node, since time.Time) (bool, string) {
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
