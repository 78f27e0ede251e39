//go:build !windows

package contract

import "testing"

// lockExclusive needs Windows' share modes: the PowerShell backend runs
// against IIS on Windows only.
func lockExclusive(t *testing.T, path string) func() {
	t.Helper()
	t.Fatalf("lock %s: exclusive file locks need Windows", path)
	return func() {}
}
