package driver

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/hashicorp/nomad/plugins/shared/hclspec"
)

// Backends the driver can talk to.
const (
	// BackendPowerShell runs the contract in Windows PowerShell against IIS.
	BackendPowerShell = "powershell"
	// BackendIISSim runs iissim, the IIS stand-in for Linux and macOS.
	BackendIISSim = "iissim"
)

const (
	// minFingerprintInterval is the shortest fingerprint_interval allowed, as
	// in nomad-iis 0.20.
	minFingerprintInterval = 10 * time.Second
	// defaultPlaceholderAppPath is the IIS start page nomad-iis copies into
	// empty application directories.
	defaultPlaceholderAppPath = `C:\inetpub\wwwroot`
	// defaultProcdumpPath is where nomad-iis looks for procdump.exe.
	defaultProcdumpPath = `C:\procdump.exe`
)

// configSpec is the agent's plugin "nomad_iis" { config { ... } } block: the
// options of nomad-iis 0.20 first, then what this driver adds.
var configSpec = hclspec.NewObject(map[string]*hclspec.Spec{
	"enabled": hclspec.NewDefault(
		hclspec.NewAttr("enabled", "bool", false), hclspec.NewLiteral("true")),
	"fingerprint_interval": hclspec.NewDefault(
		hclspec.NewAttr("fingerprint_interval", "string", false), hclspec.NewLiteral(`"30s"`)),
	"directory_security": hclspec.NewDefault(
		hclspec.NewAttr("directory_security", "bool", false), hclspec.NewLiteral("true")),
	"allowed_target_websites": hclspec.NewAttr("allowed_target_websites", "list(string)", false),
	"allowed_apppool_identities": hclspec.NewDefault(
		hclspec.NewAttr("allowed_apppool_identities", "list(string)", false),
		hclspec.NewLiteral(`["ApplicationPoolIdentity"]`)),
	"allowed_apppool_users": hclspec.NewAttr("allowed_apppool_users", "list(string)", false),
	"allowed_host_paths":    hclspec.NewAttr("allowed_host_paths", "list(string)", false),
	"placeholder_app_path": hclspec.NewDefault(
		hclspec.NewAttr("placeholder_app_path", "string", false), hclspec.NewLiteral(`"C:\\inetpub\\wwwroot"`)),
	"procdump": hclspec.NewBlock("procdump", false, hclspec.NewObject(map[string]*hclspec.Spec{
		"binary_path": hclspec.NewDefault(
			hclspec.NewAttr("binary_path", "string", false), hclspec.NewLiteral(`"C:\\procdump.exe"`)),
		"accept_eula": hclspec.NewDefault(
			hclspec.NewAttr("accept_eula", "bool", false), hclspec.NewLiteral("false")),
	})),

	// Added by this driver.
	"backend":          hclspec.NewAttr("backend", "string", false),
	"powershell_path":  hclspec.NewAttr("powershell_path", "string", false),
	"iissim_state_dir": hclspec.NewAttr("iissim_state_dir", "string", false),
	"extensions_dir":   hclspec.NewAttr("extensions_dir", "string", false),
	"call_timeout": hclspec.NewDefault(
		hclspec.NewAttr("call_timeout", "string", false), hclspec.NewLiteral(`"2m"`)),
	"iis_log_dir": hclspec.NewAttr("iis_log_dir", "string", false),
	"exec_as_agent": hclspec.NewDefault(
		hclspec.NewAttr("exec_as_agent", "bool", false), hclspec.NewLiteral("false")),
})

// DriverConfig is the plugin's config block, decoded from configSpec.
type DriverConfig struct {
	// Enabled false reports the driver as undetected ("driver disabled").
	Enabled bool `codec:"enabled"`
	// FingerprintInterval is how often the driver reports its health and
	// attributes; at least 10s. Default "30s".
	FingerprintInterval string `codec:"fingerprint_interval"`
	// DirectorySecurity sets ACLs on the allocation directory so that each
	// task's pool identities reach only their own task's files. Default true.
	DirectorySecurity bool `codec:"directory_security"`
	// AllowedTargetWebsites are existing sites a task may add applications
	// to with target_website; "*" allows any. Empty disables target_website.
	// Names match case-insensitively, as IIS site names do.
	AllowedTargetWebsites []string `codec:"allowed_target_websites"`
	// AllowedAppPoolIdentities are the application_pool.identity values
	// tasks may use. Default ["ApplicationPoolIdentity"]; an empty list
	// refuses every task.
	AllowedAppPoolIdentities []string `codec:"allowed_apppool_identities"`
	// AllowedAppPoolUsers are the usernames a SpecificUser identity may
	// name; "*" allows any. Empty refuses SpecificUser.
	AllowedAppPoolUsers []string `codec:"allowed_apppool_users"`
	// AllowedHostPaths are host directories, besides the allocation
	// directory, that application and virtual directory paths and
	// certificate files may be in; absolute paths. Empty (the default)
	// confines tasks to their allocation directory. Added by this driver;
	// nomad-iis 0.20 accepted any path.
	AllowedHostPaths []string `codec:"allowed_host_paths"`
	// PlaceholderAppPath is a directory whose files are copied into an
	// application's directory when that is missing or empty. Default
	// C:\inetpub\wwwroot. Sharp edge kept from nomad-iis: `null` means the
	// default; use "" (or a path that does not exist) to turn it off.
	PlaceholderAppPath string `codec:"placeholder_app_path"`
	// Procdump configures process dumps of the Management API.
	Procdump *ProcdumpConfig `codec:"procdump"`

	// Backend is "powershell" (IIS through Windows PowerShell; the default
	// on Windows) or "iissim" (the stand-in; the default elsewhere).
	Backend string `codec:"backend"`
	// PowerShellPath is the PowerShell executable. Default powershell.exe
	// (Windows PowerShell 5.1, which the WebAdministration module needs).
	PowerShellPath string `codec:"powershell_path"`
	// IISSimStateDir is where iissim keeps its configuration, logs and
	// daemon socket. Default <temp>/nomad-iis-iissim.
	IISSimStateDir string `codec:"iissim_state_dir"`
	// ExtensionsDir holds admin extension scripts (.ps1; executables on
	// iissim) whose hook functions run around each task's start and stop.
	ExtensionsDir string `codec:"extensions_dir"`
	// CallTimeout bounds each call into the backend. Default "2m".
	CallTimeout string `codec:"call_timeout"`
	// IISLogDir is the directory of the W3C request logs, which holds one
	// W3SVC<siteId> directory per site. Default
	// %SystemDrive%\inetpub\logs\LogFiles on IIS, <iissim_state_dir>/logs
	// on iissim.
	IISLogDir string `codec:"iis_log_dir"`
	// ExecAsAgent runs `nomad alloc exec` commands as the agent's own
	// account instead of the task's application pool identity. Default
	// false: exec never silently runs with the agent's rights.
	ExecAsAgent bool `codec:"exec_as_agent"`
}

// ProcdumpConfig is the procdump block of the plugin config.
type ProcdumpConfig struct {
	// BinaryPath is procdump.exe. Default C:\procdump.exe.
	BinaryPath string `codec:"binary_path"`
	// AcceptEula must be true for procdump to be used.
	AcceptEula bool `codec:"accept_eula"`
}

// defaultDriverConfig is the configuration the spec's defaults give when
// the agent has no config block at all.
func defaultDriverConfig() DriverConfig {
	return DriverConfig{
		Enabled:                  true,
		FingerprintInterval:      "30s",
		DirectorySecurity:        true,
		AllowedAppPoolIdentities: []string{identityAppPool},
		PlaceholderAppPath:       defaultPlaceholderAppPath,
		CallTimeout:              "2m",
	}
}

// driverSettings is a validated DriverConfig with every default resolved.
type driverSettings struct {
	DriverConfig
	fingerprintInterval time.Duration
	callTimeout         time.Duration
}

// resolve validates c and fills in the platform defaults.
func (c DriverConfig) resolve() (*driverSettings, error) {
	s := &driverSettings{DriverConfig: c}
	var errs []error
	fail := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }

	if c.FingerprintInterval == "" {
		s.FingerprintInterval = "30s"
	}
	if d, err := parseDuration(s.FingerprintInterval); err != nil {
		fail("fingerprint_interval: %v", err)
	} else if d < minFingerprintInterval {
		fail("fingerprint_interval: %q is too short; use at least 10s", c.FingerprintInterval)
	} else {
		s.fingerprintInterval = d
	}
	if c.CallTimeout == "" {
		s.CallTimeout = "2m"
	}
	if d, err := parseDuration(s.CallTimeout); err != nil {
		fail("call_timeout: %v", err)
	} else if d < time.Second {
		fail("call_timeout: %q is too short; use at least 1s", c.CallTimeout)
	} else {
		s.callTimeout = d
	}

	switch strings.ToLower(c.Backend) {
	case "":
		s.Backend = BackendIISSim
		if runtime.GOOS == "windows" {
			s.Backend = BackendPowerShell
		}
	case BackendPowerShell, BackendIISSim:
		s.Backend = strings.ToLower(c.Backend)
	default:
		fail("backend: %q is not allowed; use %q or %q", c.Backend, BackendPowerShell, BackendIISSim)
	}
	if s.PowerShellPath == "" {
		s.PowerShellPath = "powershell.exe"
	}
	if s.IISSimStateDir == "" {
		s.IISSimStateDir = filepath.Join(os.TempDir(), "nomad-iis-iissim")
	}
	if s.IISLogDir == "" {
		s.IISLogDir = defaultIISLogDir(s.Backend, s.IISSimStateDir)
	}

	for i, id := range c.AllowedAppPoolIdentities {
		if _, ok := canonical(id, identities); !ok && id != "*" {
			fail("allowed_apppool_identities[%d]: %q is not an identity; use %s", i, id, quoteList(identities))
		}
	}
	for i, p := range c.AllowedHostPaths {
		if _, abs, problem := hostSyntax.normalize(strings.TrimSpace(p)); problem != "" {
			fail("allowed_host_paths[%d]: %q %s", i, p, problem)
		} else if !abs {
			fail("allowed_host_paths[%d]: %q is not an absolute path; list host directories such as %s", i, p, examplePath())
		}
	}
	if c.Procdump != nil && c.Procdump.BinaryPath == "" {
		pd := *c.Procdump
		pd.BinaryPath = defaultProcdumpPath
		s.Procdump = &pd
	}
	if len(errs) > 0 {
		return nil, joinErrors("invalid plugin config", errs)
	}
	return s, nil
}

// examplePath is an absolute directory in the node's syntax, for messages.
func examplePath() string {
	if hostSyntax.windows {
		return `"D:\\sites"`
	}
	return `"/srv/sites"`
}

// defaultIISLogDir is where the backend writes W3C request logs by default.
func defaultIISLogDir(backend, simStateDir string) string {
	if backend == BackendIISSim {
		return filepath.Join(simStateDir, "logs")
	}
	drive := os.Getenv("SystemDrive")
	if drive == "" {
		drive = "C:"
	}
	return drive + `\inetpub\logs\LogFiles`
}
