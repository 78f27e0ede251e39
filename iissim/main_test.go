//go:build !windows

package iissim_test

import (
	"os"
	"testing"

	"github.com/nomad-iis/nomad-iis/iissim/simtest"
)

func TestMain(m *testing.M) {
	// The service tests run this test binary again as iissim.
	simtest.MaybeRunSim()
	os.Exit(m.Run())
}
