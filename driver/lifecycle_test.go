//go:build !windows

package driver

import (
	"context"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/helper/testlog"
	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
	dtestutil "github.com/hashicorp/nomad/plugins/drivers/testutils"
	"github.com/nomad-iis/nomad-iis/iissim/simtest"
	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/nomad-iis/nomad-iis/version"
	"github.com/shoenig/test/must"
)

func TestIISDriver_Fingerprint(t *testing.T) {
	n := newSimNode(t)
	_, h := n.newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := h.Fingerprint(ctx)
	must.NoError(t, err)
	var fp *drivers.Fingerprint
	select {
	case fp = <-ch:
	case <-time.After(waitTimeout):
		t.Fatal("no fingerprint")
	}
	must.Eq(t, drivers.HealthStateHealthy, fp.Health, must.Sprint(fp.HealthDescription))
	for _, attr := range []string{
		"driver.iis.version", "driver.iis.iis_version", "driver.iis.iis_aspnet_core_available",
		"driver.iis.iis_rewrite_module_available", "driver.iis.directory_security_enabled",
		"driver.iis.target_websites_enabled", "driver.iis.management_api_enabled", "driver.iis.management_api_port",
	} {
		must.MapContainsKey(t, fp.Attributes, attr)
	}
	ver, _ := fp.Attributes["driver.iis.version"].GetString()
	must.Eq(t, version.Version, ver, must.Sprint("the fingerprint reports the one version"))
	v, ok := fp.Attributes["driver.iis.target_websites_enabled"].GetBool()
	must.True(t, ok)
	must.True(t, v)
	backend, _ := fp.Attributes["driver.iis.backend"].GetString()
	must.Eq(t, BackendIISSim, backend)
}

func TestIISDriver_Fingerprint_Disabled(t *testing.T) {
	n := newSimNode(t)
	_, h := n.newHarness(t, func(c *DriverConfig) { c.Enabled = false })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := h.Fingerprint(ctx)
	must.NoError(t, err)
	fp := <-ch
	must.Eq(t, drivers.HealthStateUndetected, fp.Health)
	must.Eq(t, "driver disabled", fp.HealthDescription)
}

func TestIISDriver_StartStopDestroy_LeavesNothing(t *testing.T) {
	n := newSimNode(t)
	d, h := n.newHarness(t)
	tt := newTask(t, h, "web", siteHCL, map[string]string{"local/index.html": "hello iis"})

	handle := startTask(t, h, tt)
	must.Eq(t, taskHandleVersion, handle.Version)
	must.Eq(t, "hello iis", mustGet(t, tt.url("/"), 200))

	site := "nomad-" + tt.cfg.AllocID + "-web"
	must.Eq(t, []string{site, site}, managed(t, d.IIS(), tt.cfg.AllocID))
	status, err := h.InspectTask(tt.cfg.ID)
	must.NoError(t, err)
	must.Eq(t, drivers.TaskStateRunning, status.State)
	must.Eq(t, site, status.DriverAttributes["WebsiteName"])

	info, ok := d.LookupTask(tt.cfg.AllocID, "web")
	must.True(t, ok)
	must.Eq(t, site, info.SiteName)
	must.True(t, info.OwnsSite)
	must.Eq(t, map[string]string{"default": site}, info.AppPools)
	must.Eq(t, tt.port, info.Bindings[0].Port)

	// The worker the request started has to exit within the stop timeout.
	pid := poolState(t, d.IIS(), site).WorkerProcesses[0].ProcessID
	must.NoError(t, h.StopTask(tt.cfg.ID, 10*time.Second, "SIGTERM"))
	res := waitExit(t, h, tt.cfg.ID)
	must.True(t, res.Successful(), must.Sprint(res))
	p := poolState(t, d.IIS(), site)
	must.Eq(t, ps.StateStopped, p.State)
	must.SliceEmpty(t, p.WorkerProcesses)
	must.False(t, processAlive(pid))

	must.NoError(t, h.DestroyTask(tt.cfg.ID, false))
	must.SliceEmpty(t, managed(t, d.IIS(), tt.cfg.AllocID))
	_, _, err = get(tt.url("/"))
	must.Error(t, err)
	_, err = h.InspectTask(tt.cfg.ID)
	must.ErrorContains(t, err, drivers.ErrTaskNotFound.Error())

	// Unknown task ids are not an error for DestroyTask.
	must.NoError(t, h.DestroyTask("no-such-task", true))
	must.NoError(t, h.DestroyTask(tt.cfg.ID, true))
}

func TestIISDriver_DestroyTask_RunningNeedsForce(t *testing.T) {
	n := newSimNode(t)
	d, h := n.newHarness(t)
	tt := newTask(t, h, "web", siteHCL, map[string]string{"local/index.html": "x"})
	startTask(t, h, tt)

	must.ErrorContains(t, h.DestroyTask(tt.cfg.ID, false), "cannot destroy a running task")
	must.NoError(t, h.DestroyTask(tt.cfg.ID, true))
	must.SliceEmpty(t, managed(t, d.IIS(), tt.cfg.AllocID))
}

func TestIISDriver_StartTask_FailureMidwayLeavesNothing(t *testing.T) {
	n := newSimNode(t)
	d, h := n.newHarness(t)
	// The https binding's self-signed certificate is installed first; the
	// site then fails because another process holds the http port.
	tt := newTask(t, h, "web", `config {
  application { path = "local" }
  binding {
    type       = "https"
    port       = "https"
    ip_address = "127.0.0.1"
    certificate { use_self_signed = true }
  }
  binding {
    type       = "http"
    port       = "http"
    ip_address = "127.0.0.1"
  }
}`, nil)
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", itoa(tt.port)))
	must.NoError(t, err)
	defer ln.Close()

	_, _, err = h.StartTask(tt.cfg)
	must.ErrorContains(t, err, "cannot create the site")
	must.SliceEmpty(t, managed(t, d.IIS(), tt.cfg.AllocID))
	must.SliceEmpty(t, certFiles(t, n))
	_, err = h.InspectTask(tt.cfg.ID)
	must.ErrorContains(t, err, drivers.ErrTaskNotFound.Error())
}

func TestIISDriver_StartTask_InvalidConfig(t *testing.T) {
	n := newSimNode(t)
	d, h := n.newHarness(t)
	tt := newTask(t, h, "web", `config {
  application_pool {
    managed_runtime_version = "v3.0"
  }
  application { path = "local" }
}`, nil)
	_, _, err := h.StartTask(tt.cfg)
	must.ErrorContains(t, err, `application_pool[0].managed_runtime_version: "v3.0" is not allowed; use "v4.0", "v2.0" or "None"`)
	must.SliceEmpty(t, managed(t, d.IIS(), tt.cfg.AllocID))
}

func TestIISDriver_StartTask_NameTaken(t *testing.T) {
	n := newSimNode(t)
	d, h := n.newHarness(t)
	first := newTask(t, h, "web", siteHCL, map[string]string{"local/index.html": "first"})
	startTask(t, h, first)

	// The same task id twice.
	_, _, err := h.StartTask(first.cfg)
	must.ErrorContains(t, err, "already started")

	// Another task id with the same allocation and task name: the names
	// collide, and the existing site is not taken over.
	second := newTask(t, h, "web", siteHCL, nil)
	second.cfg.AllocID = first.cfg.AllocID
	_, _, err = h.StartTask(second.cfg)
	must.ErrorContains(t, err, "never takes over an existing site")
	must.Eq(t, "first", mustGet(t, first.url("/"), 200))
	must.NoError(t, h.DestroyTask(first.cfg.ID, true))
	must.SliceEmpty(t, managed(t, d.IIS(), first.cfg.AllocID))
}

func TestIISDriver_StartTask_LongName(t *testing.T) {
	n := newSimNode(t)
	_, h := n.newHarness(t)
	tt := newTask(t, h, "a-task-name-that-is-far-too-long", siteHCL, nil)
	_, _, err := h.StartTask(tt.cfg)
	must.ErrorContains(t, err, "shorten the task name by 11 characters")
}

func TestIISDriver_RecoverTask(t *testing.T) {
	n := newSimNode(t)
	d1, h1 := n.newHarness(t)
	tt := newTask(t, h1, "web", siteHCL, map[string]string{"local/index.html": "still here"})
	handle := startTask(t, h1, tt)

	// The plugin dies: its backend host goes, the site keeps serving.
	d1.Shutdown()
	must.Eq(t, "still here", mustGet(t, tt.url("/"), 200))

	d2, h2 := n.newHarness(t)
	must.NoError(t, h2.RecoverTask(handle))
	status, err := h2.InspectTask(tt.cfg.ID)
	must.NoError(t, err)
	must.Eq(t, drivers.TaskStateRunning, status.State)
	info, ok := d2.LookupTask(tt.cfg.AllocID, "web")
	must.True(t, ok)
	must.True(t, info.Recovered)
	must.Eq(t, "still here", mustGet(t, tt.url("/"), 200))

	// Recovering twice is a no-op.
	must.NoError(t, h2.RecoverTask(handle))

	must.NoError(t, h2.StopTask(tt.cfg.ID, 5*time.Second, ""))
	must.True(t, waitExit(t, h2, tt.cfg.ID).Successful())
	must.NoError(t, h2.DestroyTask(tt.cfg.ID, false))
	must.SliceEmpty(t, managed(t, d2.IIS(), tt.cfg.AllocID))
}

func TestIISDriver_RecoverTask_SiteGone(t *testing.T) {
	n := newSimNode(t)
	d1, h1 := n.newHarness(t)
	tt := newTask(t, h1, "web", siteHCL, nil)
	handle := startTask(t, h1, tt)
	site := "nomad-" + tt.cfg.AllocID + "-web"
	d1.Shutdown()

	d2, h2 := n.newHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	// Someone removes the site (not the pool) while the plugin is away.
	_, err := d2.IIS().RemoveTaskSite(ctx, &ps.RemoveTaskSiteArgs{SiteName: site})
	must.NoError(t, err)

	err = h2.RecoverTask(handle)
	must.ErrorContains(t, err, "website "+site+" was removed outside Nomad")
	// What was left (the pool) is gone too, so that Nomad can start the
	// task again under the same names.
	must.SliceEmpty(t, managed(t, d2.IIS(), tt.cfg.AllocID))
	_, err = h2.InspectTask(tt.cfg.ID)
	must.ErrorContains(t, err, drivers.ErrTaskNotFound.Error())
}

func TestIISDriver_WaitTask_PoolStoppedOutside(t *testing.T) {
	n := newSimNode(t)
	d, h := n.newHarness(t)
	tt := newTask(t, h, "web", siteHCL, map[string]string{"local/index.html": "x"})
	startTask(t, h, tt)
	pool := "nomad-" + tt.cfg.AllocID + "-web"

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	_, err := d.IIS().StopAppPool(ctx, pool, 0)
	must.NoError(t, err)

	res := waitExit(t, h, tt.cfg.ID)
	must.Eq(t, exitCodeOutside, res.ExitCode)
	must.ErrorContains(t, res.Err, "application pool "+pool+" was stopped outside Nomad")
	status, err := h.InspectTask(tt.cfg.ID)
	must.NoError(t, err)
	must.Eq(t, drivers.TaskStateExited, status.State)
	must.Eq(t, exitCodeOutside, status.ExitResult.ExitCode)

	must.NoError(t, h.DestroyTask(tt.cfg.ID, true))
	must.SliceEmpty(t, managed(t, d.IIS(), tt.cfg.AllocID))
}

func TestIISDriver_WaitTask_SiteRemovedOutside(t *testing.T) {
	n := newSimNode(t)
	d, h := n.newHarness(t)
	tt := newTask(t, h, "web", siteHCL, nil)
	startTask(t, h, tt)
	site := "nomad-" + tt.cfg.AllocID + "-web"

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	_, err := d.IIS().RemoveTaskSite(ctx, &ps.RemoveTaskSiteArgs{SiteName: site, AppPools: []string{site}})
	must.NoError(t, err)

	res := waitExit(t, h, tt.cfg.ID)
	must.Eq(t, exitCodeOutside, res.ExitCode)
	must.ErrorContains(t, res.Err, "was removed outside Nomad")
	must.NoError(t, h.DestroyTask(tt.cfg.ID, true))
}

func TestIISDriver_StartTask_MultiPool(t *testing.T) {
	n := newSimNode(t)
	d, h := n.newHarness(t)
	page := `<%= Environment.GetEnvironmentVariable("APP_POOL_ID") %>`
	tt := newTask(t, h, "web", `config {
  application_pool {
    name = "front"
  }
  application_pool {
    name       = "api"
    start_mode = "AlwaysRunning"
  }
  application_pool {
    name = "unused"
  }
  application {
    path             = "local/front"
    application_pool = "front"
  }
  application {
    alias            = "api"
    path             = "local/api"
    application_pool = "api"
  }
  binding {
    type       = "http"
    port       = "http"
    ip_address = "127.0.0.1"
  }
}`, map[string]string{"local/front/pool.aspx": page, "local/api/pool.aspx": page})
	startTask(t, h, tt)
	base := "nomad-" + tt.cfg.AllocID + "-web"

	must.Eq(t, base+"-front", strings.TrimSpace(mustGet(t, tt.url("/pool.aspx"), 200)))
	must.Eq(t, base+"-api", strings.TrimSpace(mustGet(t, tt.url("/api/pool.aspx"), 200)))
	got := managed(t, d.IIS(), tt.cfg.AllocID)
	must.SliceContainsAll(t, []string{base, base + "-front", base + "-api"}, got)
	must.Len(t, 3, got) // the unused pool was not created

	must.NoError(t, h.DestroyTask(tt.cfg.ID, true))
	must.SliceEmpty(t, managed(t, d.IIS(), tt.cfg.AllocID))
}

func TestIISDriver_StartTask_VirtualDirectories(t *testing.T) {
	n := newSimNode(t)
	_, h := n.newHarness(t)
	tt := newTask(t, h, "web", `config {
  application {
    path = "local/site"
    virtual_directory {
      alias = "static"
      path  = "local/assets"
    }
  }
  application {
    alias = "docs"
    path  = "local/docs"
    virtual_directory {
      alias = "/shared/img/"
      path  = "../alloc/data/img"
    }
  }
  binding {
    type       = "http"
    port       = "http"
    ip_address = "127.0.0.1"
  }
}`, map[string]string{
		"local/site/index.html":   "site",
		"local/assets/app.css":    "body{}",
		"local/docs/index.html":   "docs",
		"../alloc/data/img/a.txt": "shared file",
	})
	startTask(t, h, tt)
	must.Eq(t, "site", mustGet(t, tt.url("/"), 200))
	must.Eq(t, "body{}", mustGet(t, tt.url("/static/app.css"), 200))
	must.Eq(t, "docs", mustGet(t, tt.url("/docs/"), 200))
	must.Eq(t, "shared file", mustGet(t, tt.url("/docs/shared/img/a.txt"), 200))
	must.NoError(t, h.DestroyTask(tt.cfg.ID, true))
}

func TestIISDriver_StartTask_Environment(t *testing.T) {
	n := newSimNode(t)
	_, h := n.newHarness(t)
	page := `greeting=<%= Environment.GetEnvironmentVariable("GREETING") %>;temp=<%= Environment.GetEnvironmentVariable("TEMP") %>;tmp=<%= Environment.GetEnvironmentVariable("TMP") %>`
	tt := newTask(t, h, "web", siteHCL, map[string]string{"local/env.aspx": page})
	startTask(t, h, tt)
	tmp := tt.taskDir() + "/tmp"
	must.Eq(t, "greeting=hello from nomad;temp="+tmp+";tmp="+tmp, mustGet(t, tt.url("/env.aspx"), 200))
	must.NoError(t, h.DestroyTask(tt.cfg.ID, true))
}

func TestIISDriver_StartTask_TargetWebsite(t *testing.T) {
	n := newSimNode(t)
	d, h := n.newHarness(t)
	port := testkit.FreePort(t)
	root := t.TempDir()
	must.NoError(t, writeFile(root+"/index.html", "default site"))
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	_, err := d.IIS().NewTaskSite(ctx, &ps.TaskSiteSpec{
		SiteName:     "Default Web Site",
		AppPools:     []ps.AppPoolSpec{{Name: "DefaultAppPool"}},
		Applications: []ps.ApplicationSpec{{PhysicalPath: root, AppPool: "DefaultAppPool"}},
		Bindings:     []ps.BindingSpec{{Protocol: "http", IPAddress: "127.0.0.1", Port: port}},
	})
	must.NoError(t, err)

	tt := newTask(t, h, "shop", `config {
  target_website = "default web site"
  application {
    alias = "shop"
    path  = "local"
  }
}`, map[string]string{"local/index.html": "shop"})
	tt.port = port
	startTask(t, h, tt)
	must.Eq(t, "shop", mustGet(t, tt.url("/shop/"), 200))
	info, _ := d.LookupTask(tt.cfg.AllocID, "shop")
	must.Eq(t, "Default Web Site", info.TargetWebsite)
	must.False(t, info.OwnsSite)

	must.NoError(t, h.DestroyTask(tt.cfg.ID, true))
	// Only the task's application and pool went; the site still serves.
	must.Eq(t, "default site", mustGet(t, tt.url("/"), 200))
	mustGet(t, tt.url("/shop/"), 404)
	must.SliceEmpty(t, managed(t, d.IIS(), tt.cfg.AllocID))
}

func TestIISDriver_StartTask_HTTPS(t *testing.T) {
	n := newSimNode(t)
	d, h := n.newHarness(t)
	tt := newTask(t, h, "web", `config {
  application { path = "local" }
  binding {
    type       = "https"
    port       = "https"
    ip_address = "127.0.0.1"
    certificate { use_self_signed = true }
  }
}`, map[string]string{"local/index.html": "secure"})
	startTask(t, h, tt)
	info, _ := d.LookupTask(tt.cfg.AllocID, "web")
	must.Len(t, 1, info.Bindings)
	must.Eq(t, 40, len(info.Bindings[0].CertificateThumbprint))
	tt.port = info.Bindings[0].Port
	must.Eq(t, "secure", mustGet(t, "https://127.0.0.1:"+itoa(tt.port)+"/", 200))
	must.Len(t, 1, certFiles(t, n))

	must.NoError(t, h.DestroyTask(tt.cfg.ID, true))
	must.SliceEmpty(t, certFiles(t, n))
}

func TestIISDriver_BackendDown(t *testing.T) {
	n := newSimNode(t)
	scripts := t.TempDir()
	d := New(testlog.HCLogger(t), Options{ScriptDir: scripts, MonitorInterval: testMonitorInterval})
	t.Cleanup(d.Shutdown)
	h := dtestutil.NewDriverHarness(t, d)
	cfg := n.driverConfig()
	cfg.Backend = BackendPowerShell
	cfg.PowerShellPath = filepath.Join(t.TempDir(), "no-such-powershell")
	var raw []byte
	must.NoError(t, base.MsgPackEncode(&raw, &cfg))
	must.NoError(t, h.SetConfig(&base.Config{PluginConfig: raw}))
	// The scripts the backend runs were written out.
	must.FileExists(t, filepath.Join(scripts, "host.ps1"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := h.Fingerprint(ctx)
	must.NoError(t, err)
	fp := <-ch
	must.Eq(t, drivers.HealthStateUnhealthy, fp.Health)
	must.StrContains(t, fp.HealthDescription, "the IIS backend (powershell) does not answer")

	// A start fails with an error Nomad retries.
	tt := newTask(t, h, "web", siteHCL, nil)
	_, _, err = h.StartTask(tt.cfg)
	must.Error(t, err)
	must.True(t, structs.IsRecoverable(err), must.Sprint(err))
}

func TestIISDriver_RecoverTask_KeepsStoppedPools(t *testing.T) {
	n := newSimNode(t)
	d1, h1 := n.newHarness(t)
	tt := newTask(t, h1, "web", siteHCL, nil)
	handle := startTask(t, h1, tt)
	pool := "nomad-" + tt.cfg.AllocID + "-web"
	must.NoError(t, h1.SignalTask(tt.cfg.ID, "STOP"))
	testkit.EventuallyWithin(t, waitTimeout, "the pool to stop", func() bool { return poolState(t, d1.IIS(), pool).State == ps.StateStopped })
	d1.Shutdown()

	// A pool stopped on purpose before the restart does not end the task.
	d2, h2 := n.newHarness(t)
	must.NoError(t, h2.RecoverTask(handle))
	waitPolled(t, d2, tt.cfg.ID)
	status, err := h2.InspectTask(tt.cfg.ID)
	must.NoError(t, err)
	must.Eq(t, drivers.TaskStateRunning, status.State)
	must.NoError(t, h2.SignalTask(tt.cfg.ID, "START"))
	testkit.EventuallyWithin(t, waitTimeout, "the pool to start", func() bool { return poolState(t, d2.IIS(), pool).State == ps.StateStarted })
	must.NoError(t, h2.DestroyTask(tt.cfg.ID, true))
}

func TestIISDriver_SecretsNotLogged(t *testing.T) {
	n := newSimNode(t)
	var buf testkit.SyncBuffer
	logger := hclog.New(&hclog.LoggerOptions{Level: hclog.Trace, Output: &buf})
	d := New(logger, Options{SimSelf: n.self, SimEnv: simtest.Env(), MonitorInterval: testMonitorInterval, LogPollInterval: testLogPollInterval})
	t.Cleanup(d.Shutdown)
	h := dtestutil.NewDriverHarness(t, d)
	cfg := n.driverConfig()
	cfg.AllowedAppPoolIdentities = []string{"ApplicationPoolIdentity", "SpecificUser"}
	cfg.AllowedAppPoolUsers = []string{"*"}
	var raw []byte
	must.NoError(t, base.MsgPackEncode(&raw, &cfg))
	must.NoError(t, h.SetConfig(&base.Config{PluginConfig: raw}))

	tt := newTask(t, h, "web", `config {
  application_pool {
    identity = "SpecificUser"
    username = "svc-web"
    password = "pool-password-7f3a"
  }
  application { path = "local" }
  binding {
    type       = "http"
    port       = "http"
    ip_address = "127.0.0.1"
  }
}`, nil)
	tt.cfg.Env["DB_PASSWORD"] = "env-secret-91c2"
	startTask(t, h, tt)
	must.NoError(t, h.DestroyTask(tt.cfg.ID, true))
	logs := buf.String()
	must.StrContains(t, logs, "task started")
	must.StrNotContains(t, logs, "pool-password-7f3a")
	must.StrNotContains(t, logs, "env-secret-91c2")
}
