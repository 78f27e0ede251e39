//go:build !windows

// The driver harness tests run the driver over real gRPC (Nomad's
// plugins/drivers/testutils) against iissim, with this test binary acting as
// iissim. They build on Linux and macOS only: Nomad's harness needs a fork
// of go-winio to build for Windows.

package driver

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/helper/pluginutils/hclspecutils"
	"github.com/hashicorp/nomad/helper/pluginutils/hclutils"
	"github.com/hashicorp/nomad/helper/testlog"
	"github.com/hashicorp/nomad/helper/uuid"
	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
	dtestutil "github.com/hashicorp/nomad/plugins/drivers/testutils"
	"github.com/nomad-iis/nomad-iis/iissim"
	"github.com/nomad-iis/nomad-iis/iissim/simtest"
	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shirou/gopsutil/v4/process"
	"github.com/shoenig/test/must"
)

func TestMain(m *testing.M) {
	simtest.MaybeRunSim()
	os.Exit(m.Run())
}

// Intervals of the drivers under test: small, so that exits and log lines
// are seen quickly.
const (
	testMonitorInterval = 150 * time.Millisecond
	testLogPollInterval = 100 * time.Millisecond
	// waitTimeout bounds every wait for something to happen.
	waitTimeout = 20 * time.Second
)

// simNode is one iissim "machine": a state directory (and optionally an
// extensions directory) that drivers are configured with.
type simNode struct {
	stateDir string
	extDir   string
	self     []string
}

// newSimNode makes a node whose iissim service is stopped when t ends.
func newSimNode(t *testing.T) *simNode {
	t.Helper()
	self, err := simtest.Self()
	must.NoError(t, err)
	n := &simNode{stateDir: t.TempDir(), self: self}
	t.Cleanup(func() {
		if code := iissim.Main(self, []string{"stop", "--state-dir", n.stateDir}); code != 0 {
			t.Errorf("iissim stop: exit status %d", code)
		}
	})
	return n
}

// driverConfig is the plugin config of the tests: iissim on this node.
func (n *simNode) driverConfig() DriverConfig {
	c := defaultDriverConfig()
	c.Backend = BackendIISSim
	c.IISSimStateDir = n.stateDir
	c.ExtensionsDir = n.extDir
	c.PlaceholderAppPath = ""
	c.CallTimeout = "30s"
	c.FingerprintInterval = "10s"
	c.AllowedTargetWebsites = []string{"Default Web Site"}
	return c
}

// newHarness starts a driver for the node and returns it with its harness.
func (n *simNode) newHarness(t *testing.T, mutate ...func(*DriverConfig)) (*Driver, *dtestutil.DriverHarness) {
	t.Helper()
	return n.newHarnessLogging(t, testlog.HCLogger(t), mutate...)
}

// newHarnessLogging is newHarness with the driver logging to logger.
func (n *simNode) newHarnessLogging(t *testing.T, logger hclog.Logger, mutate ...func(*DriverConfig)) (*Driver, *dtestutil.DriverHarness) {
	t.Helper()
	d := New(logger, Options{
		SimSelf:         n.self,
		SimEnv:          simtest.Env(),
		MonitorInterval: testMonitorInterval,
		LogPollInterval: testLogPollInterval,
	})
	t.Cleanup(d.Shutdown)
	h := dtestutil.NewDriverHarness(t, d)
	cfg := n.driverConfig()
	for _, m := range mutate {
		m(&cfg)
	}
	var raw []byte
	must.NoError(t, base.MsgPackEncode(&raw, &cfg))
	must.NoError(t, h.SetConfig(&base.Config{PluginConfig: raw}))
	return d, h
}

// testTask is a task of the tests: its config and the port behind label "http".
type testTask struct {
	cfg  *drivers.TaskConfig
	port int
}

// taskDir is the task's directory.
func (tt *testTask) taskDir() string { return filepath.Join(tt.cfg.AllocDir, tt.cfg.Name) }

// url is http://127.0.0.1:<port><path>.
func (tt *testTask) url(path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", tt.port, path)
}

// newTask builds a task named name with the HCL config block hcl, a "http"
// (and "https") port, an allocation directory with log pipes, and the files
// (path relative to the task directory, content) written into it.
func newTask(t *testing.T, h *dtestutil.DriverHarness, name, hcl string, files map[string]string) *testTask {
	t.Helper()
	port := testkit.FreePort(t)
	ports := structs.AllocatedPorts{
		{Label: "http", Value: port, HostIP: "127.0.0.1"},
		{Label: "https", Value: testkit.FreePort(t), HostIP: "127.0.0.1"},
	}
	cfg := &drivers.TaskConfig{
		ID:        uuid.Generate(),
		AllocID:   uuid.Generate(),
		Name:      name,
		JobName:   "site",
		JobID:     "site",
		Namespace: "default",
		Env:       map[string]string{"GREETING": "hello from nomad"},
		Resources: &drivers.Resources{
			NomadResources: &structs.AllocatedTaskResources{
				Cpu:    structs.AllocatedCpuResources{CpuShares: 500},
				Memory: structs.AllocatedMemoryResources{MemoryMB: 256},
			},
			Ports: &ports,
		},
	}
	encodeHCL(t, cfg, hcl)
	cleanup := h.MkAllocDir(cfg, true)
	t.Cleanup(cleanup)
	tt := &testTask{cfg: cfg, port: port}
	for path, content := range files {
		full := filepath.Join(tt.taskDir(), filepath.FromSlash(path))
		must.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		must.NoError(t, os.WriteFile(full, []byte(content), 0o644))
	}
	return tt
}

// encodeHCL puts a job's config block into cfg as Nomad does: HCL through
// the task config spec, then MessagePack.
func encodeHCL(t *testing.T, cfg *drivers.TaskConfig, hcl string) {
	t.Helper()
	dec, diags := hclspecutils.Convert(taskConfigSpec)
	must.False(t, diags.HasErrors())
	val, diags, errs := hclutils.ParseHclInterface(hclutils.HclConfigToInterface(t, hcl), dec, nil)
	must.SliceEmpty(t, errs)
	must.False(t, diags.HasErrors(), must.Sprint(diags))
	must.NoError(t, cfg.EncodeDriverConfig(val))
}

// startTask starts tt and registers nothing: the test destroys it.
func startTask(t *testing.T, h *dtestutil.DriverHarness, tt *testTask) *drivers.TaskHandle {
	t.Helper()
	handle, _, err := h.StartTask(tt.cfg)
	must.NoError(t, err)
	must.NoError(t, h.WaitUntilStarted(tt.cfg.ID, waitTimeout))
	return handle
}

// httpClient is the tests' client: short timeouts, self-signed certificates
// accepted, no keep-alive (sites come and go).
var httpClient = &http.Client{
	Timeout: 5 * time.Second,
	Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, // test sites use self-signed certificates
		DisableKeepAlives: true,
	},
}

// get fetches url and returns the status and body; err when nothing answered.
func get(url string) (int, string, error) {
	resp, err := httpClient.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// mustGet fetches url and requires the status.
func mustGet(t *testing.T, url string, status int) string {
	t.Helper()
	code, body, err := get(url)
	must.NoError(t, err)
	must.Eq(t, status, code, must.Sprintf("GET %s: %s", url, body))
	return body
}

// managed lists the driver-made sites and pools on the node whose names
// contain the allocation id.
func managed(t *testing.T, iis *ps.IIS, allocID string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	res, err := iis.GetManagedResources(ctx)
	must.NoError(t, err)
	var out []string
	for _, r := range append(res.Websites, res.AppPools...) {
		if strings.Contains(r.Name, allocID) {
			out = append(out, r.Name)
		}
	}
	return out
}

// poolState reads a pool through the backend.
func poolState(t *testing.T, iis *ps.IIS, name string) *ps.AppPool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	p, err := iis.GetAppPool(ctx, name)
	must.NoError(t, err)
	return p
}

// waitExit waits for the task's exit result.
func waitExit(t *testing.T, h *dtestutil.DriverHarness, taskID string) *drivers.ExitResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	ch, err := h.WaitTask(ctx, taskID)
	must.NoError(t, err)
	select {
	case res := <-ch:
		must.NotNil(t, res)
		return res
	case <-ctx.Done():
		t.Fatalf("task %s did not exit", taskID)
		return nil
	}
}

// certFiles lists the certificates in iissim's store.
func certFiles(t *testing.T, n *simNode) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(n.stateDir, "certs", "*.json"))
	must.NoError(t, err)
	return files
}

// siteHCL is the config of a task serving local/ on the "http" port.
const siteHCL = `config {
  application {
    path = "local"
  }
  binding {
    type       = "http"
    port       = "http"
    ip_address = "127.0.0.1"
  }
}`

// itoa formats a port.
func itoa(n int) string { return strconv.Itoa(n) }

// writeFile writes content to path, creating its directory.
func writeFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(content), 0o644)
}

// processAlive reports whether pid runs (and is not a zombie).
func processAlive(pid int) bool {
	p, err := process.NewProcess(int32(pid))
	if err != nil {
		return false
	}
	st, err := p.Status()
	return err == nil && !(len(st) > 0 && st[0] == process.Zombie)
}
