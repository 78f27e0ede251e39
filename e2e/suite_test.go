//go:build e2e

// Package e2e holds the end-to-end suites: a real Nomad server, and a client
// with the nomad_iis plugin loaded; jobs submitted through the Nomad API; and
// assertions made from outside, as a user would make them (HTTP requests to
// the sites, `nomad alloc status` and `nomad alloc logs`, the Management API,
// and the web server seen through the backend, not through the plugin). The
// same specs run on iissim on Linux and on IIS on Windows.
//
// Run them with `make e2e`, or `go test -tags e2e ./e2e/...` with NOMAD_BIN
// and NOMAD_IIS_PLUGIN naming the agent and plugin binaries (by default the
// ones `make nomad build` writes into build/).
package e2e

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/nomad-iis/nomad-iis/e2e/launcher"
)

// cluster is the Nomad server and client every spec uses; BeforeSuite
// starts it.
var cluster *launcher.Cluster

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(time.Minute)
	SetDefaultEventuallyPollingInterval(250 * time.Millisecond)
	RunSpecs(t, "nomad-iis end to end")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	cfg := launcher.Config{
		NomadBin:       binary("NOMAD_BIN", "nomad"),
		PluginBin:      binary("NOMAD_IIS_PLUGIN", "nomad_iis"),
		PowerShellPath: os.Getenv("NOMAD_IIS_POWERSHELL"),
		// Screenshots: the Makefile names the driver and the browser.
		PlaywrightDriverDir: os.Getenv("NOMAD_IIS_PLAYWRIGHT_DRIVER"),
		ScreenshotBrowser:   os.Getenv("NOMAD_IIS_BROWSER"),
		LogDir:              os.Getenv("NOMAD_IIS_E2E_LOG_DIR"),
		Logger:              hclog.New(&hclog.LoggerOptions{Name: "launcher", Output: GinkgoWriter, Level: hclog.Info}),
	}
	var err error
	cluster, err = launcher.Start(ctx, cfg)
	Expect(err).NotTo(HaveOccurred(), "start Nomad with the plugin")
	DeferCleanup(func(ctx SpecContext) {
		Expect(cluster.Stop(ctx)).To(Succeed(), "stop Nomad and everything it started")
	}, NodeTimeout(3*time.Minute))
}, NodeTimeout(3*time.Minute))

// The client's log (with the plugin's) is the first thing to read when a
// spec fails.
var _ = AfterEach(func() {
	if CurrentSpecReport().Failed() && cluster != nil {
		AddReportEntry("client log (last lines)", cluster.LogTail(60))
	}
})

// binary returns the path in the environment variable, or build/<name> of
// the repository.
func binary(env, name string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	return filepath.Join("..", "build", name)
}
