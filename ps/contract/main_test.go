package contract

import (
	"os"
	"testing"

	"github.com/nomad-iis/nomad-iis/iissim/simtest"
)

func TestMain(m *testing.M) {
	// The iissim backend runs this test binary again as iissim.
	simtest.MaybeRunSim()
	os.Exit(m.Run())
}
