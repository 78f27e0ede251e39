package driver

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/nomad/plugins/base"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/nomad-iis/nomad-iis/scripts"
)

// setConfig applies the plugin config: it validates it, and starts a new
// backend host when the backend command line changed (keeping the running
// one otherwise, so that a repeated SetConfig costs nothing).
func (d *Driver) setConfig(cfg *base.Config) error {
	dc := defaultDriverConfig()
	if len(cfg.PluginConfig) != 0 {
		dc = DriverConfig{}
		if err := base.MsgPackDecode(cfg.PluginConfig, &dc); err != nil {
			return fmt.Errorf("failed to decode the plugin config: %w", err)
		}
	}
	s, err := dc.resolve()
	if err != nil {
		return err
	}
	path, args, env, err := d.backendCommand(s)
	if err != nil {
		return err
	}
	key := strings.Join(append(append([]string{path}, args...), env...), "\x00")

	d.configLock.Lock()
	var old *ps.Host
	if d.host == nil || d.backendKey != key {
		old = d.host
		d.host = ps.NewHost(ps.HostConfig{
			Path:        path,
			Args:        args,
			Env:         env,
			CallTimeout: s.callTimeout,
			Logger:      d.logger.Named("backend"),
		})
		d.iis = ps.NewIIS(d.host)
		d.backendKey = key
	}
	d.settings = s
	d.configLock.Unlock()

	if old != nil {
		if err := old.Close(); err != nil {
			d.logger.Warn("previous backend did not stop cleanly", "error", err)
		}
	}
	d.logger.Info("configured", "backend", s.Backend, "extensions_dir", s.ExtensionsDir, "enabled", s.Enabled)
	return nil
}

// backendCommand is the command line of the configured backend. For the
// PowerShell backend it first writes the embedded scripts to disk.
func (d *Driver) backendCommand(s *driverSettings) (path string, args, env []string, err error) {
	if s.Backend == BackendIISSim {
		if len(d.opts.SimSelf) == 0 {
			return "", nil, nil, fmt.Errorf("backend iissim: cannot find this executable to run iissim")
		}
		path, args = ps.SimCommand(d.opts.SimSelf, s.IISSimStateDir, s.ExtensionsDir)
		return path, args, d.opts.SimEnv, nil
	}
	dir := d.opts.ScriptDir
	if dir == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", nil, nil, fmt.Errorf("backend powershell: cannot find this executable: %w", err)
		}
		dir = filepath.Join(filepath.Dir(exe), "nomad_iis_scripts")
	}
	if err := scripts.WriteTo(dir); err != nil {
		return "", nil, nil, fmt.Errorf("backend powershell: write the scripts to %s: %w", dir, err)
	}
	path, args = ps.PowerShellCommand(s.PowerShellPath, dir, s.ExtensionsDir)
	return path, args, nil, nil
}
