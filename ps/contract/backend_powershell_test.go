package contract

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/nomad-iis/nomad-iis/scripts"
	"software.sslmate.com/src/go-pkcs12"
)

// powerShellEnv names the PowerShell executable (default powershell.exe).
const powerShellEnv = "NOMAD_IIS_POWERSHELL"

// powerShellBackend runs the scripts of package scripts with PowerShell
// against the machine's IIS. It needs an elevated shell on Windows.
type powerShellBackend struct {
	exe       string
	scriptDir string
	extDir    string
	host      *ps.Host
}

func newPowerShellBackend(t *testing.T) backend {
	dir := t.TempDir()
	if err := scripts.WriteTo(dir); err != nil {
		t.Fatalf("write scripts: %v", err)
	}
	return &powerShellBackend{exe: os.Getenv(powerShellEnv), scriptDir: dir}
}

func (b *powerShellBackend) Name() string { return "iis" }

func (b *powerShellBackend) Start(t *testing.T, extensionsDir string) *ps.IIS {
	b.extDir = extensionsDir
	t.Cleanup(func() {
		if b.host != nil {
			_ = b.host.Close()
		}
	})
	return b.StartHost(t)
}

func (b *powerShellBackend) CloseHost(t *testing.T) {
	if err := b.host.Close(); err != nil {
		t.Logf("close host: %v", err)
	}
}

func (b *powerShellBackend) StartHost(t *testing.T) *ps.IIS {
	path, args := ps.PowerShellCommand(b.exe, b.scriptDir, b.extDir)
	b.host = ps.NewHost(ps.HostConfig{Path: path, Args: args})
	return ps.NewIIS(b.host)
}

// run runs one PowerShell command and returns its output.
func (b *powerShellBackend) run(t *testing.T, env []string, command string) string {
	t.Helper()
	exe := b.exe
	if exe == "" {
		exe = ps.DefaultPowerShell
	}
	cmd := exec.Command(exe, "-NoLogo", "-NoProfile", "-NonInteractive", "-Command", "$ErrorActionPreference = 'Stop'; "+command)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("powershell %q: %v: %s", command, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (b *powerShellBackend) InstallCertificate(t *testing.T, certPEM, keyPEM []byte) string {
	chain := parseChain(t, certPEM)
	key := parseKey(t, keyPEM)
	pw := make([]byte, 16)
	if _, err := rand.Read(pw); err != nil {
		t.Fatal(err)
	}
	password := hex.EncodeToString(pw)
	pfx, err := pkcs12.Modern.Encode(key, chain[0], chain[1:], password)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "installed.pfx")
	if err := os.WriteFile(p, pfx, 0o600); err != nil {
		t.Fatal(err)
	}
	return b.run(t, []string{"NOMAD_IIS_TEST_PFX_PASSWORD=" + password},
		"$pw = ConvertTo-SecureString -String $env:NOMAD_IIS_TEST_PFX_PASSWORD -AsPlainText -Force; "+
			"(Import-PfxCertificate -FilePath '"+p+"' -CertStoreLocation Cert:\\LocalMachine\\My -Password $pw).Thumbprint")
}

func (b *powerShellBackend) UninstallCertificate(t *testing.T, thumbprint string) {
	b.run(t, nil, "Remove-Item -Path Cert:\\LocalMachine\\My\\"+thumbprint+" -DeleteKey")
}

func (b *powerShellBackend) WriteHooks(t *testing.T, dir string) {
	// Each script is loaded into a module of its own; a hook is the function
	// Invoke-<Hook>Hook with a -Context parameter (scripts/NomadIis.Extension.ps1).
	hooks := map[string]string{
		"audit.ps1": "function Invoke-PreStartHook { param($Context) \"PreStart $($Context.taskName)\" }\r\n" +
			"function Invoke-PostStopHook { param($Context) \"PostStop $($Context.taskName)\" }\r\n",
		"gate.ps1": "function Invoke-PreStartHook {\r\n  param($Context)\r\n" +
			"  if ($Context.taskName -eq 'refused') { throw 'task refused is refused by policy' }\r\n" +
			"  \"allowed $($Context.taskName)\"\r\n}\r\n",
		"bare.ps1":  "function Invoke-PreStopHook { param($Context) [Console]::Write(\"bare $($Context.taskName)\") }\r\n",
		"quiet.ps1": "function Invoke-PreStopHook { param($Context) return $null }\r\n",
	}
	for name, body := range hooks {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// ECKeysInPEM is true: PowerShell 7 reads EC keys with .NET's PEM reader,
// Windows PowerShell 5.1 with the module's own (NomadIis.Pem.ps1).
func (b *powerShellBackend) ECKeysInPEM() bool { return true }

// PrepareContent grants read access to the anonymous user (IUSR) and the
// worker processes (IIS_IUSRS), as directory_security does for a task.
func (b *powerShellBackend) PrepareContent(t *testing.T, dir string) {
	b.run(t, nil, "icacls '"+dir+"' /grant 'IUSR:(OI)(CI)RX' /grant 'IIS_IUSRS:(OI)(CI)RX' | Out-Null")
}

func (b *powerShellBackend) RequestLog(t *testing.T, siteID int64) string {
	// IIS buffers its log; HTTP.sys writes it out on request.
	b.run(t, nil, "netsh http flush logbuffer | Out-Null")
	p := filepath.Join(os.Getenv("SystemDrive")+`\`, "inetpub", "logs", "LogFiles", "W3SVC"+itoa(siteID), "u_ex"+time.Now().UTC().Format("060102")+".log")
	var data []byte
	testkit.Eventually(t, "the request log "+p+" is written", func() bool {
		var err error
		data, err = os.ReadFile(p)
		return err == nil && len(data) > 0
	})
	return string(data)
}

// BreakNextCommit holds applicationHost.config open without sharing until
// restore is called: IIS can neither read nor write it meanwhile.
func (b *powerShellBackend) BreakNextCommit(t *testing.T) func() {
	path := filepath.Join(os.Getenv("windir"), "System32", "inetsrv", "config", "applicationHost.config")
	return lockExclusive(t, path)
}
