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

// agentConfig renders the agent's configuration: one server (bootstrapped
// alone) and, withClient, one client and the plugin block; everything on
// 127.0.0.1.
func (a *Agent) agentConfig(withClient bool) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	c := a.cfg

	w("# Written by the nomad-iis launcher; removed when the agent stops.\n")
	w("name                 = \"nomad-iis-e2e\"\n")
	w("datacenter           = \"dc1\"\n")
	w("data_dir             = %s\n", hclString(a.dataDir))
	w("bind_addr            = \"127.0.0.1\"\n")
	w("log_level            = %s\n", hclString(c.LogLevel))
	w("disable_update_check = true\n\n")
	w("ports {\n  http = %d\n  rpc  = %d\n  serf = %d\n}\n\n", c.HTTPPort, c.RPCPort, c.SerfPort)
	w("advertise {\n  http = \"127.0.0.1\"\n  rpc  = \"127.0.0.1\"\n  serf = \"127.0.0.1\"\n}\n\n")
	w("server {\n  enabled          = true\n  bootstrap_expect = 1\n}\n")
	if !withClient {
		return b.String()
	}
	w("\n")
	w("client {\n  enabled = true\n")
	if ifname := loopbackInterface(); ifname != "" {
		// As -dev does: allocations get ports on the loopback address.
		w("  network_interface = %s\n", hclString(ifname))
	}
	w("  options = {\n")
	w("    \"fingerprint.denylist\" = %s\n", hclString(fingerprintDenylist))
	w("    \"driver.denylist\"      = %s\n", hclString(driverDenylist))
	w("  }\n}\n\n")

	w("plugin \"nomad_iis\" {\n")
	w("  args = [%s, %s, %s]\n",
		hclString(fmt.Sprintf("--management-api-port=%d", c.ManagementAPIPort)),
		hclString("--management-api-key="+c.ManagementAPIKey),
		// With a key the API would listen on every interface; a test or
		// demo agent keeps it on loopback.
		hclString("--management-api-bind=127.0.0.1"))
	w("  config {\n")
	w("    enabled              = true\n")
	w("    fingerprint_interval = \"10s\"\n")
	w("    backend              = %s\n", hclString(c.Backend))
	if a.stateDir != "" {
		w("    iissim_state_dir     = %s\n", hclString(a.stateDir))
	}
	if c.PowerShellPath != "" {
		w("    powershell_path      = %s\n", hclString(c.PowerShellPath))
	}
	if extra := strings.TrimSpace(c.ExtraPluginConfig); extra != "" {
		for line := range strings.SplitSeq(extra, "\n") {
			w("    %s\n", strings.TrimSpace(line))
		}
	}
	w("  }\n}\n")
	return b.String()
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
