//go:build !windows

package reliability

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/nomad/helper/pluginutils/hclspecutils"
	"github.com/hashicorp/nomad/helper/pluginutils/hclutils"
	"github.com/hashicorp/nomad/helper/testlog"
	"github.com/hashicorp/nomad/helper/uuid"
	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
	dtestutil "github.com/hashicorp/nomad/plugins/drivers/testutils"
	"github.com/shirou/gopsutil/v4/process"
	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/driver"
	"github.com/nomad-iis/nomad-iis/iissim/simtest"
	"github.com/nomad-iis/nomad-iis/internal/testkit"
)

// driverNode is a driver over the gRPC harness with iissim, plus a second
// iissim client (sim) on the same state directory for checks from outside.
type driverNode struct {
	h   *dtestutil.DriverHarness
	sim *simtest.Sim
	d   *driver.Driver
}

func newDriverNode(t *testing.T, extensionsDir ...string) *driverNode {
	t.Helper()
	sim := simtest.Start(t)
	d := driver.New(testlog.HCLogger(t), driver.Options{
		SimSelf: sim.Self, SimEnv: simtest.Env(),
		MonitorInterval: 150 * time.Millisecond, LogPollInterval: 100 * time.Millisecond,
	})
	t.Cleanup(d.Shutdown)
	h := dtestutil.NewDriverHarness(t, d)
	cfg := driver.DriverConfig{
		Enabled: true, Backend: driver.BackendIISSim, IISSimStateDir: sim.StateDir,
		AllowedAppPoolIdentities: []string{"ApplicationPoolIdentity"},
		CallTimeout:              "30s", FingerprintInterval: "10s",
	}
	if len(extensionsDir) > 0 {
		cfg.ExtensionsDir = extensionsDir[0]
	}
	var raw []byte
	must.NoError(t, base.MsgPackEncode(&raw, &cfg))
	must.NoError(t, h.SetConfig(&base.Config{PluginConfig: raw}))
	return &driverNode{h: h, sim: sim, d: d}
}

// newSiteTask builds a task serving local/ on a free port.
func (n *driverNode) newSiteTask(t *testing.T) (*drivers.TaskConfig, string) {
	t.Helper()
	port := testkit.FreePort(t)
	ports := structs.AllocatedPorts{{Label: "http", Value: port, HostIP: "127.0.0.1"}}
	cfg := &drivers.TaskConfig{
		ID: uuid.Generate(), AllocID: uuid.Generate(), Name: "web", JobName: "site", JobID: "site", Namespace: "default",
		Resources: &drivers.Resources{NomadResources: &structs.AllocatedTaskResources{
			Memory: structs.AllocatedMemoryResources{MemoryMB: 128}}, Ports: &ports},
	}
	hcl := `config {
  application { path = "local" }
  binding {
    type = "http"
    port = "http"
  }
}`
	spec, err := n.d.TaskConfigSchema()
	must.NoError(t, err)
	dec, diags := hclspecutils.Convert(spec)
	must.False(t, diags.HasErrors())
	val, diags, errs := hclutils.ParseHclInterface(hclutils.HclConfigToInterface(t, hcl), dec, nil)
	must.SliceEmpty(t, errs)
	must.False(t, diags.HasErrors())
	must.NoError(t, cfg.EncodeDriverConfig(val))
	t.Cleanup(n.h.MkAllocDir(cfg, true))
	local := filepath.Join(cfg.AllocDir, cfg.Name, "local")
	must.NoError(t, os.MkdirAll(local, 0o755))
	must.NoError(t, os.WriteFile(filepath.Join(local, "index.html"), []byte("<h1>up</h1>"), 0o644))
	return cfg, fmt.Sprintf("http://127.0.0.1:%d/", port)
}

// startServingTask starts a site task, checks that it serves, and returns
// it with its URL and its exit channel; the test's end destroys it.
func (n *driverNode) startServingTask(t *testing.T) (*drivers.TaskConfig, string, <-chan *drivers.ExitResult) {
	t.Helper()
	cfg, url := n.newSiteTask(t)
	_, _, err := n.h.StartTask(cfg)
	must.NoError(t, err)
	t.Cleanup(func() { _ = n.h.DestroyTask(cfg.ID, true) })
	code, err := get(url)
	must.NoError(t, err)
	must.Eq(t, http.StatusOK, code)
	exitCh, err := n.h.WaitTask(context.Background(), cfg.ID)
	must.NoError(t, err)
	return cfg, url, exitCh
}

// owned lists the sites and pools iissim holds for allocID.
func (n *driverNode) owned(t *testing.T, allocID string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := n.sim.IIS.GetManagedResources(ctx)
	must.NoError(t, err)
	var out []string
	for _, r := range append(res.Websites, res.AppPools...) {
		if strings.Contains(r.Name, allocID) {
			out = append(out, r.Name)
		}
	}
	return out
}

// driverHostPIDs finds the iissim host processes the driver started: the
// children of this process running "host --state-dir <dir>", other than
// the checking client's own.
func driverHostPIDs(t *testing.T, stateDir string, exclude int) []int {
	t.Helper()
	me, err := process.NewProcess(int32(os.Getpid()))
	must.NoError(t, err)
	children, _ := me.Children()
	var out []int
	for _, c := range children {
		args, err := c.CmdlineSlice()
		if err != nil || int(c.Pid) == exclude {
			continue
		}
		line := strings.Join(args, " ")
		if strings.Contains(line, " host ") && strings.Contains(line, stateDir) {
			out = append(out, int(c.Pid))
		}
	}
	return out
}

func get(url string) (int, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// TestFault_BackendKilledDuringStartTask kills the driver's iissim host
// process (SIGKILL) at several moments while StartTask runs. Each start
// either fails with an error and leaves no site or pool behind, or succeeds
// with a serving site (the host was restarted); a later start always works.
// Three kills: the host refuses a fifth start within a minute (crash-loop
// protection), which is designed behaviour, not under test here.
func TestFault_BackendKilledDuringStartTask(t *testing.T) {
	n := newDriverNode(t)
	checkerPID := n.sim.Host.PID()
	failed, succeeded, killed := 0, 0, 0
	for i, delay := range []time.Duration{time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond} {
		cfg, url := n.newSiteTask(t)
		done := make(chan error, 1)
		go func() {
			_, _, err := n.h.StartTask(cfg)
			done <- err
		}()
		time.Sleep(delay)
		pids := driverHostPIDs(t, n.sim.StateDir, checkerPID)
		killed += len(pids)
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		err := <-done
		if err != nil {
			failed++
			must.StrNotContains(t, err.Error(), "panic")
			must.True(t, structs.IsRecoverable(err), must.Sprintf("a start that failed because the backend died is retried by Nomad: %v", err))
			// Nothing orphaned: no site or pool of the allocation.
			must.SliceEmpty(t, n.owned(t, cfg.AllocID), must.Sprintf("round %d: a failed start leaves nothing (error: %v)", i, err))
			continue
		}
		succeeded++
		code, gerr := get(url)
		must.NoError(t, gerr)
		must.Eq(t, http.StatusOK, code)
		must.NoError(t, n.h.StopTask(cfg.ID, time.Second, "SIGTERM"))
		must.NoError(t, n.h.DestroyTask(cfg.ID, true))
		must.SliceEmpty(t, n.owned(t, cfg.AllocID), must.Sprintf("round %d: a destroyed task leaves nothing", i))
	}
	// The driver recovers: a start after the kills works.
	cfg, url := n.newSiteTask(t)
	_, _, err := n.h.StartTask(cfg)
	must.NoError(t, err)
	code, err := get(url)
	must.NoError(t, err)
	must.Eq(t, http.StatusOK, code)
	must.NoError(t, n.h.StopTask(cfg.ID, time.Second, "SIGTERM"))
	must.NoError(t, n.h.DestroyTask(cfg.ID, true))
	must.Positive(t, killed, must.Sprint("the backend host was found and killed"))
	figure(t, "backend_kill_rounds=%d backend_kill_hosts_killed=%d backend_kill_start_failed_clean=%d backend_kill_start_succeeded=%d", failed+succeeded, killed, failed, succeeded)
}

// TestFault_WorkerKilled kills the site's worker process: as in IIS, the
// pool starts a new one (on the next request), the site serves again, the
// task keeps running and gets an event about the crash.
func TestFault_WorkerKilled(t *testing.T) {
	n := newDriverNode(t)
	events := n.events(t)
	cfg, url, exitCh := n.startServingTask(t)

	pool := ""
	for _, name := range n.owned(t, cfg.AllocID) {
		pool = name
	}
	workers := func() []int {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		p, err := n.sim.IIS.GetAppPool(ctx, pool)
		must.NoError(t, err)
		var out []int
		for _, w := range p.WorkerProcesses {
			out = append(out, w.ProcessID)
		}
		return out
	}
	before := workers()
	must.SliceNotEmpty(t, before)
	for _, pid := range before {
		must.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	}
	// The site serves again, from a new worker.
	var after []int
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if code, err := get(url); err == nil && code == http.StatusOK {
			if after = workers(); len(after) > 0 && after[0] != before[0] {
				break
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	must.SliceNotEmpty(t, after)
	must.NotEq(t, before[0], after[0], must.Sprint("a new worker process serves the site"))
	// The task did not exit (several monitor intervals later).
	select {
	case res := <-exitCh:
		t.Fatalf("the task exited after its worker was killed: %+v", res)
	case <-time.After(2 * time.Second):
	}
	status, err := n.h.InspectTask(cfg.ID)
	must.NoError(t, err)
	must.Eq(t, drivers.TaskStateRunning, status.State)
	events.wait(t, cfg.ID, "a worker process exited unexpectedly")
	figure(t, "worker_kill_old_pid=%d worker_kill_new_pid=%d worker_kill_task_state=%s worker_kill_event=seen", before[0], after[0], status.State)
}

// TestFault_BackendKilledDuringHook kills the driver's iissim host while it
// runs an admin extension hook of StartTask (the hook signals that it runs,
// then sleeps), so the kill lands in the middle of a call: with the site and
// pool already made for PostStart, before anything for PreStart. The start
// either fails with a recoverable error (Nomad retries it) and leaves no
// site or pool, or succeeds (PostStart failures only warn) with the site
// serving.
func TestFault_BackendKilledDuringHook(t *testing.T) {
	for _, hook := range []string{"PreStart", "PostStart"} {
		t.Run(hook, func(t *testing.T) {
			ext := t.TempDir()
			marker := filepath.Join(t.TempDir(), "hook-running")
			script := fmt.Sprintf("#!/bin/sh\ncase \"$1\" in\n  Hooks) echo %s ;;\n  %s) cat >/dev/null; touch %q; sleep 3 ;;\nesac\n", hook, hook, marker)
			must.NoError(t, os.WriteFile(filepath.Join(ext, "slow.hook"), []byte(script), 0o755))
			n := newDriverNode(t, ext)
			checkerPID := n.sim.Host.PID()
			cfg, url := n.newSiteTask(t)
			done := make(chan error, 1)
			go func() {
				_, _, err := n.h.StartTask(cfg)
				done <- err
			}()
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) {
				if _, err := os.Stat(marker); err == nil {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			_, err := os.Stat(marker)
			must.NoError(t, err, must.Sprint("the hook started"))
			pids := driverHostPIDs(t, n.sim.StateDir, checkerPID)
			must.SliceNotEmpty(t, pids, must.Sprint("the driver's backend host runs"))
			for _, pid := range pids {
				must.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
			}
			err = <-done
			outcome := "succeeded"
			if err != nil {
				outcome = "failed_clean"
				must.True(t, structs.IsRecoverable(err), must.Sprintf("a start that failed because the backend died is retried by Nomad: %v", err))
				must.SliceEmpty(t, n.owned(t, cfg.AllocID), must.Sprintf("a failed start leaves nothing (error: %v)", err))
				_, ierr := n.h.InspectTask(cfg.ID)
				must.Error(t, ierr)
			} else {
				code, gerr := get(url)
				must.NoError(t, gerr)
				must.Eq(t, http.StatusOK, code)
				must.NoError(t, n.h.DestroyTask(cfg.ID, true))
				must.SliceEmpty(t, n.owned(t, cfg.AllocID))
			}
			msg := ""
			if err != nil {
				msg = err.Error()
			}
			t.Logf("start error: %s", msg)
			figure(t, "hook_kill_%s_hosts_killed=%d hook_kill_%s_start=%s", hook, len(pids), hook, outcome)
		})
	}
}

// TestFault_ServiceKilled kills the iissim service (the "IIS" of the node,
// with every worker) while a site task runs. The next backend call starts
// it again from its configuration: the site serves again, the task keeps
// running, and the next fingerprint leaves an event on the task saying the
// service restarted.
func TestFault_ServiceKilled(t *testing.T) {
	n := newDriverNode(t)
	events := n.events(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fps, err := n.h.Fingerprint(ctx)
	must.NoError(t, err)
	go func() {
		for range fps { // the driver fingerprints every 10 s; its first one is the baseline
		}
	}()
	cfg, url, exitCh := n.startServingTask(t)

	b, err := os.ReadFile(filepath.Join(n.sim.StateDir, "service.pid"))
	must.NoError(t, err)
	var pid int
	_, err = fmt.Sscan(strings.TrimSpace(string(b)), &pid)
	must.NoError(t, err)
	killed := time.Now()
	must.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	served := time.Duration(0)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if code, err := get(url); err == nil && code == http.StatusOK {
			served = time.Since(killed)
			break
		}
	}
	must.Positive(t, served, must.Sprint("the site did not serve again within 30 s"))
	events.wait(t, cfg.ID, "the web server's service (iissim) restarted at")
	evented := time.Since(killed)
	select {
	case res := <-exitCh:
		t.Fatalf("the task exited after the service restarted: %+v", res)
	default:
	}
	status, err := n.h.InspectTask(cfg.ID)
	must.NoError(t, err)
	must.Eq(t, drivers.TaskStateRunning, status.State)
	figure(t, "service_kill_serving_again_ms=%d service_kill_event_ms=%d service_kill_task_state=%s service_kill_event=seen",
		served.Milliseconds(), evented.Milliseconds(), status.State)
}
