package contract

import "testing"

// newSimBackend fails on Windows: iissim runs on Linux and macOS only.
func newSimBackend(t *testing.T) backend {
	t.Fatal("iissim runs on Linux and macOS; use NOMAD_IIS_CONTRACT_BACKEND=powershell on Windows")
	return nil
}
