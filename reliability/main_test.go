package reliability

import (
	"os"
	"testing"

	"github.com/nomad-iis/nomad-iis/iissim/simtest"
)

// TestMain lets the test binary act as iissim (simtest) or as a standalone
// Management API process (serverMode), both by re-exec.
func TestMain(m *testing.M) {
	simtest.MaybeRunSim()
	if os.Getenv(serverModeEnv) == "1" {
		os.Exit(serverMode())
	}
	os.Exit(m.Run())
}
