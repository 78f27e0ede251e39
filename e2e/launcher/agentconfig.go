package launcher

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
)

// fingerprintDenylist keeps the client from probing cloud metadata services:
// there are none on these machines, and env_aws makes the agent exit at start
// when AWS_CA_BUNDLE is set.
const fingerprintDenylist = "env_aws,env_gce,env_azure,env_digitalocean"

// driverDenylist skips the fingerprinting of built-in drivers no test uses.
const driverDenylist = "docker,java,qemu"

// configWriter writes HCL line by line.
type configWriter struct{ strings.Builder }

func (w *configWriter) line(format string, args ...any) {
	fmt.Fprintf(w, format, args...)
	w.WriteByte('\n')
}

// common writes what both agents' configurations start with.
func (c *Cluster) common(w *configWriter, r *role, name string, httpPort int) {
	w.line("# Written by the nomad-iis launcher; removed when the cluster stops.")
	w.line("name                 = %s", hclString(name))
	w.line("datacenter           = \"dc1\"")
	w.line("data_dir             = %s", hclString(r.dataDir))
	w.line("bind_addr            = \"127.0.0.1\"")
	w.line("log_level            = %s", hclString(c.cfg.LogLevel))
	w.line("disable_update_check = true")
	w.line("")
	w.line("advertise {")
	w.line("  http = \"127.0.0.1\"")
	w.line("  rpc  = \"127.0.0.1\"")
	w.line("  serf = \"127.0.0.1\"")
	w.line("}")
	w.line("")
	w.line("ports {")
	w.line("  http = %d", httpPort)
	if r == c.serverAgent {
		w.line("  rpc  = %d", c.cfg.RPCPort)
		w.line("  serf = %d", c.cfg.SerfPort)
	}
	w.line("}")
	w.line("")
}

// serverConfig is the server's configuration: bootstrapped alone.
func (c *Cluster) serverConfig() string {
	var w configWriter
	c.common(&w, c.serverAgent, "nomad-iis-server", c.cfg.HTTPPort)
	w.line("server {")
	w.line("  enabled          = true")
	w.line("  bootstrap_expect = 1")
	w.line("}")
	return w.String()
}

// clientSpec is what differs between client agents.
type clientSpec struct {
	role              *role
	name              string
	httpPort, apiPort int
	stateDir          string
	minPort, maxPort  int // dynamic ports; 0 leaves Nomad's defaults
}

// clientConfig is the first client's configuration, with the plugin block.
func (c *Cluster) clientConfig() string {
	return c.clientConfigFor(clientSpec{role: c.clientAgent, name: firstClientName, httpPort: c.cfg.ClientHTTPPort,
		apiPort: c.cfg.ManagementAPIPort, stateDir: c.stateDir})
}

// clientConfigFor is a client's configuration, with the plugin block.
func (c *Cluster) clientConfigFor(s clientSpec) string {
	var w configWriter
	cfg := c.cfg
	c.common(&w, s.role, s.name, s.httpPort)
	w.line("client {")
	w.line("  enabled = true")
	w.line("  servers = [%s]", hclString(fmt.Sprintf("127.0.0.1:%d", cfg.RPCPort)))
	if s.minPort > 0 {
		w.line("  min_dynamic_port = %d", s.minPort)
		w.line("  max_dynamic_port = %d", s.maxPort)
	}
	if ifname := loopbackInterface(); ifname != "" {
		// As -dev does: allocations get ports on the loopback address.
		w.line("  network_interface = %s", hclString(ifname))
	}
	w.line("  options = {")
	w.line("    \"fingerprint.denylist\" = %s", hclString(fingerprintDenylist))
	w.line("    \"driver.denylist\"      = %s", hclString(driverDenylist))
	w.line("  }")
	w.line("}")
	w.line("")
	w.line("plugin \"nomad_iis\" {")
	args := []string{
		fmt.Sprintf("--management-api-port=%d", s.apiPort),
		"--management-api-key=" + cfg.ManagementAPIKey,
		// With a key the API would listen on every interface; a test or
		// demo cluster keeps it on loopback.
		"--management-api-bind=127.0.0.1",
	}
	if cfg.ManagementAPIJWTSecret != "" {
		args = append(args, "--management-api-jwt-secret="+cfg.ManagementAPIJWTSecret)
	}
	if cfg.PlaywrightDriverDir != "" {
		args = append(args, "--management-api-playwright-driver="+cfg.PlaywrightDriverDir)
	}
	if cfg.ScreenshotBrowser != "" {
		args = append(args, "--management-api-browser="+cfg.ScreenshotBrowser)
	}
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = hclString(a)
	}
	w.line("  args = [%s]", strings.Join(quoted, ", "))
	w.line("  config {")
	w.line("    enabled              = true")
	w.line("    fingerprint_interval = \"10s\"")
	w.line("    backend              = %s", hclString(cfg.Backend))
	if s.stateDir != "" {
		w.line("    iissim_state_dir     = %s", hclString(s.stateDir))
	}
	if cfg.PowerShellPath != "" {
		w.line("    powershell_path      = %s", hclString(cfg.PowerShellPath))
	}
	if extra := strings.TrimSpace(cfg.ExtraPluginConfig); extra != "" {
		for l := range strings.SplitSeq(extra, "\n") {
			w.line("    %s", strings.TrimSpace(l))
		}
	}
	w.line("  }")
	w.line("}")
	return w.String()
}

// hclString quotes s as an HCL string: Go's quoting is a subset HCL reads,
// backslashes of Windows paths included. The values written here (paths,
// hex keys, option names) never contain "${", which the plugin's config
// decoder would read as a template.
func hclString(s string) string { return strconv.Quote(s) }

// loopbackInterface names the loopback interface the client fingerprints on
// Linux and macOS, as nomad agent -dev does. On Windows it stays unset (as
// with -dev): the client uses the default interface, and IIS binds every
// address, so sites answer on 127.0.0.1 all the same.
func loopbackInterface() string {
	switch runtime.GOOS {
	case "linux":
		return "lo"
	case "darwin", "freebsd":
		return "lo0"
	}
	return ""
}
