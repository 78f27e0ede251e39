package launcher

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/nomad-iis/nomad-iis/ps"
)

// newBackend returns a host of the backend the plugin drives, started on
// first use: iissim on the agent's state directory (the iissim host joins the
// running iissim service, the one the plugin uses), or PowerShell with the
// repository's scripts against the machine's IIS.
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
		dir := c.cfg.ScriptDir
		if dir == "" {
			return nil, fmt.Errorf("launcher: the PowerShell backend needs the scripts directory (ScriptDir)")
		}
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("launcher: %w", err)
		}
		if _, err := os.Stat(filepath.Join(abs, "host.ps1")); err != nil {
			return nil, fmt.Errorf("launcher: PowerShell backend: %w", err)
		}
		cfg.Path, cfg.Args = ps.PowerShellCommand(c.cfg.PowerShellPath, abs, "")
	}
	return ps.NewHost(cfg), nil
}
