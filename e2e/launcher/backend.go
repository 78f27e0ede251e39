package launcher

import (
	"fmt"
	"path/filepath"

	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/nomad-iis/nomad-iis/scripts"
)

// newBackend returns a host of the backend the plugin drives, started on
// first use: iissim on the cluster's state directory (the iissim host joins
// the running iissim service, the one the plugin uses), or PowerShell with
// the scripts the plugin embeds, against the machine's IIS.
func (c *Cluster) newBackend() (*ps.Host, error) {
	cfg := ps.HostConfig{
		// The marker makes a service this host starts one Stop ends.
		Env:    c.extraEnv(),
		Logger: c.log.Named("backend"),
	}
	switch c.cfg.Backend {
	case BackendIISSim:
		cfg.Path, cfg.Args = ps.SimCommand([]string{c.cfg.PluginBin, "iissim"}, c.stateDir, "")
	case BackendPowerShell:
		dir := filepath.Join(c.dir, "scripts")
		if err := scripts.WriteTo(dir); err != nil {
			return nil, fmt.Errorf("launcher: %w", err)
		}
		cfg.Path, cfg.Args = ps.PowerShellCommand(c.cfg.PowerShellPath, dir, "")
	}
	return ps.NewHost(cfg), nil
}
