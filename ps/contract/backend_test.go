package contract

import (
	"os"
	"runtime"
	"testing"

	"github.com/nomad-iis/nomad-iis/ps"
)

// backendEnv selects the backend: "iissim" or "powershell".
const backendEnv = "NOMAD_IIS_CONTRACT_BACKEND"

// backend is what differs between iissim and PowerShell + IIS: how the
// contract's process starts, and the few things the suite does as a
// machine administrator rather than through the contract.
type backend interface {
	// Name is the backend name TestConnection and GetServerInfo report.
	Name() string
	// Start starts the contract's process with an extensions directory.
	Start(t *testing.T, extensionsDir string) *ps.IIS
	// CloseHost ends the contract's process, as a stopping plugin does.
	CloseHost(t *testing.T)
	// StartHost starts a new contract process after CloseHost.
	StartHost(t *testing.T) *ps.IIS
	// InstallCertificate installs a certificate and key (PEM) into the
	// machine store as an administrator would: not managed by Nomad.
	InstallCertificate(t *testing.T, certPEM, keyPEM []byte) string
	// UninstallCertificate removes a certificate InstallCertificate installed.
	UninstallCertificate(t *testing.T, thumbprint string)
	// WriteHooks writes the suite's admin extensions into dir (see hookSpec).
	WriteHooks(t *testing.T, dir string)
	// ECKeysInPEM reports whether PEM files with EC keys can be imported
	// (every backend can today). Where they cannot, the import must fail as
	// InvalidArgument naming keyPath.
	ECKeysInPEM() bool
	// PrepareContent makes a directory of the suite's content readable by
	// the web server's workers.
	PrepareContent(t *testing.T, dir string)
	// RequestLog returns today's W3C request log of a site, flushed.
	RequestLog(t *testing.T, siteID int64) string
	// BreakNextCommit makes the next NewTaskSite fail at its commit until
	// restore is called: iissim fails it after writing its configuration
	// (an injected fault); on IIS the test holds applicationHost.config
	// open exclusively, so that IIS can neither read nor write it.
	BreakNextCommit(t *testing.T) (restore func())
}

// hookSpec is what the extensions written by WriteHooks do:
//
//   - "audit" implements PreStart and PostStop; each prints "<Hook> <taskName>";
//   - "gate" implements PreStart; it prints "allowed <taskName>", or fails
//     with the message "task refused is refused by policy" when the task is
//     named "refused";
//   - "bare" implements PreStop; it writes "bare <taskName>" straight to
//     the console (stdout), without a newline;
//   - "quiet" implements PreStop; it returns $null (prints nothing).
const hookSpec = "audit, gate, bare, quiet"

// selectBackend returns the backend named by NOMAD_IIS_CONTRACT_BACKEND;
// the default is iissim, or powershell on Windows.
func selectBackend(t *testing.T) backend {
	name := os.Getenv(backendEnv)
	if name == "" {
		name = "iissim"
		if runtime.GOOS == "windows" {
			name = "powershell"
		}
	}
	switch name {
	case "iissim":
		return newSimBackend(t)
	case "powershell":
		return newPowerShellBackend(t)
	}
	t.Fatalf("%s=%q: want iissim or powershell", backendEnv, name)
	return nil
}
