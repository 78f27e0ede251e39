//go:build !windows

package contract

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nomad-iis/nomad-iis/iissim"
	"github.com/nomad-iis/nomad-iis/iissim/simtest"
	"github.com/nomad-iis/nomad-iis/ps"
)

// simBackend runs iissim through simtest.
type simBackend struct {
	sim *simtest.Sim
}

func newSimBackend(*testing.T) backend { return &simBackend{} }

func (b *simBackend) Name() string { return "iissim" }

func (b *simBackend) Start(t *testing.T, extensionsDir string) *ps.IIS {
	b.sim = simtest.Start(t, simtest.WithExtensionsDir(extensionsDir))
	return b.sim.IIS
}

func (b *simBackend) CloseHost(t *testing.T) {
	if err := b.sim.Host.Close(); err != nil {
		t.Logf("close host: %v", err)
	}
}

func (b *simBackend) StartHost(t *testing.T) *ps.IIS {
	b.sim.RestartHost(t)
	return b.sim.IIS
}

func (b *simBackend) InstallCertificate(t *testing.T, certPEM, keyPEM []byte) string {
	tp, err := iissim.AddCertificate(b.sim.StateDir, certPEM, keyPEM, "installed by an administrator")
	if err != nil {
		t.Fatalf("install certificate: %v", err)
	}
	return tp
}

func (b *simBackend) UninstallCertificate(t *testing.T, thumbprint string) {
	if err := os.Remove(filepath.Join(b.sim.StateDir, "certs", thumbprint+".json")); err != nil {
		t.Errorf("uninstall certificate: %v", err)
	}
}

func (b *simBackend) WriteHooks(t *testing.T, dir string) {
	hooks := map[string]string{
		"audit.hook": `#!/bin/sh
case "$1" in
Hooks) echo "PreStart PostStop" ;;
*) name=$(sed -n 's/.*"taskName":"\([^"]*\)".*/\1/p'); echo "$1 $name" ;;
esac
`,
		"gate.hook": `#!/bin/sh
case "$1" in
Hooks) echo "PreStart" ;;
PreStart)
  name=$(sed -n 's/.*"taskName":"\([^"]*\)".*/\1/p')
  if [ "$name" = "refused" ]; then echo "task refused is refused by policy" >&2; exit 3; fi
  echo "allowed $name" ;;
esac
`,
		"bare.hook": `#!/bin/sh
case "$1" in
Hooks) echo "PreStop" ;;
PreStop) name=$(sed -n 's/.*"taskName":"\([^"]*\)".*/\1/p'); printf 'bare %s' "$name" ;;
esac
`,
		"quiet.hook": `#!/bin/sh
case "$1" in
Hooks) echo "PreStop" ;;
esac
`,
	}
	for name, body := range hooks {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func (b *simBackend) ECKeysInPEM() bool { return true }

// PrepareContent has nothing to do: iissim's workers run as the test's user.
func (b *simBackend) PrepareContent(*testing.T, string) {}

func (b *simBackend) RequestLog(t *testing.T, siteID int64) string {
	p := filepath.Join(b.sim.StateDir, "logs", "W3SVC"+itoa(siteID), "u_ex"+time.Now().UTC().Format("060102")+".log")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("request log: %v", err)
	}
	return string(data)
}

// BreakNextCommit injects a commit fault: the next NewTaskSite writes its
// configuration, then fails and undoes it.
func (b *simBackend) BreakNextCommit(t *testing.T) func() {
	if err := iissim.InjectCommitFault(b.sim.StateDir); err != nil {
		t.Fatal(err)
	}
	return func() {}
}
