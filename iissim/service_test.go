//go:build !windows

package iissim_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nomad-iis/nomad-iis/iissim/simtest"
	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shirou/gopsutil/v4/process"
	"github.com/shoenig/test/must"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func pidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// servicePID reads the service's PID file.
func servicePID(t *testing.T, stateDir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(stateDir, "service.pid"))
	must.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	must.NoError(t, err)
	return pid
}

// newSite creates a site with one pool tuned by tune and a PID page.
func newSite(t *testing.T, s *simtest.Sim, name string, tune func(*ps.AppPoolSpec)) int {
	t.Helper()
	dir := t.TempDir()
	must.NoError(t, os.WriteFile(filepath.Join(dir, "index.html"), []byte("site "+name), 0o644))
	must.NoError(t, os.WriteFile(filepath.Join(dir, "pid.aspx"), []byte(`<%= System.Diagnostics.Process.GetCurrentProcess().Id %>`), 0o644))
	port := testkit.FreePort(t)
	p := ps.AppPoolSpec{Name: name}
	if tune != nil {
		tune(&p)
	}
	_, err := s.IIS.NewTaskSite(ctx(t), &ps.TaskSiteSpec{
		SiteName:     name,
		AppPools:     []ps.AppPoolSpec{p},
		Applications: []ps.ApplicationSpec{{PhysicalPath: dir, AppPool: name}},
		Bindings:     []ps.BindingSpec{{Protocol: "http", IPAddress: "*", Port: port}},
	})
	must.NoError(t, err)
	return port
}

func get(port int, path string) (int, string, error) {
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://127.0.0.1:" + strconv.Itoa(port) + path)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func workerPIDs(t *testing.T, s *simtest.Sim, pool string) []int {
	t.Helper()
	p, err := s.IIS.GetAppPool(ctx(t), pool)
	must.NoError(t, err)
	var out []int
	for _, w := range p.WorkerProcesses {
		if w.State == "Running" {
			out = append(out, w.ProcessID)
		}
	}
	return out
}

func TestService_RestoresSitesAfterRestart(t *testing.T) {
	s := simtest.Start(t)
	portA := newSite(t, s, "nomad-keep", nil)
	newSite(t, s, "nomad-stopped", nil)
	_, err := s.IIS.StopAppPool(ctx(t), "nomad-stopped", 10_000)
	must.NoError(t, err)
	code, body, err := get(portA, "/")
	must.NoError(t, err)
	must.EqOp(t, 200, code)
	must.EqOp(t, "site nomad-keep", body)

	s.Stop(t)
	_, _, err = get(portA, "/")
	must.Error(t, err, must.Sprint("a stopped service does not listen"))

	// The host's next call starts the service again, which restores the sites
	// and the state of each pool.
	ws, err := s.IIS.GetWebsite(ctx(t), "nomad-keep")
	must.NoError(t, err)
	must.EqOp(t, ps.StateStarted, ws.State)
	code, body, err = get(portA, "/")
	must.NoError(t, err)
	must.EqOp(t, 200, code)
	must.EqOp(t, "site nomad-keep", body)
	p, err := s.IIS.GetAppPool(ctx(t), "nomad-stopped")
	must.NoError(t, err)
	must.EqOp(t, ps.StateStopped, p.State)
}

func TestService_SiteStoppedWhenItsPortIsTaken(t *testing.T) {
	s := simtest.Start(t)
	port := newSite(t, s, "nomad-port", nil)
	s.Stop(t)
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	must.NoError(t, err)
	defer func() { _ = ln.Close() }()
	ws, err := s.IIS.GetWebsite(ctx(t), "nomad-port")
	must.NoError(t, err)
	must.EqOp(t, ps.StateStopped, ws.State)
	res, err := s.IIS.GetManagedResources(ctx(t))
	must.NoError(t, err)
	must.SliceContains(t, res.Websites, ps.ManagedResource{Name: "nomad-port", State: ps.StateStopped})
}

// serviceProcesses counts the iissim services of a state directory.
func serviceProcesses(t *testing.T, stateDir string) int {
	t.Helper()
	procs, err := process.Processes()
	must.NoError(t, err)
	n := 0
	for _, p := range procs {
		cmd, err := p.Cmdline()
		if err == nil && strings.Contains(cmd, "service --state-dir "+stateDir) {
			n++
		}
	}
	return n
}

func TestService_ConcurrentHostsStartOneService(t *testing.T) {
	dir := t.TempDir()
	self, err := simtest.Self()
	must.NoError(t, err)
	const hosts = 4
	var wg sync.WaitGroup
	errs := make([]error, hosts)
	for i := range hosts {
		path, args := ps.SimCommand(self, dir, "")
		h := ps.NewHost(ps.HostConfig{Path: path, Args: args, Env: simtest.Env()})
		t.Cleanup(func() { _ = h.Close() })
		wg.Go(func() {
			_, errs[i] = ps.NewIIS(h).GetServerInfo(context.Background())
		})
	}
	wg.Wait()
	s := simtest.Start(t, simtest.WithStateDir(dir))
	for _, err := range errs {
		must.NoError(t, err)
	}
	must.EqOp(t, 1, serviceProcesses(t, dir))
	pid := servicePID(t, dir)
	s.Stop(t)
	// The service has exited; its parent reaps it a moment later.
	testkit.Eventually(t, "the service is gone", func() bool { return !pidAlive(pid) && serviceProcesses(t, dir) == 0 })
}

func TestService_ExitsWhenStateDirIsRemoved(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s := simtest.Start(t, simtest.WithStateDir(dir))
	newSite(t, s, "nomad-gone", func(p *ps.AppPoolSpec) { p.StartMode = "AlwaysRunning" })
	var workers []int
	testkit.Eventually(t, "the worker runs", func() bool { workers = workerPIDs(t, s, "nomad-gone"); return len(workers) == 1 })
	pid := servicePID(t, dir)
	must.NoError(t, s.Host.Close())
	must.NoError(t, os.RemoveAll(dir))
	testkit.Eventually(t, "the service exits", func() bool { return !pidAlive(pid) })
	must.False(t, pidAlive(workers[0]), must.Sprint("the service ends its workers"))
}

func TestService_ExitsWhenIdle(t *testing.T) {
	t.Setenv("IISSIM_IDLE_EXIT", "200ms")
	s := simtest.Start(t)
	pid := servicePID(t, s.StateDir)
	must.True(t, pidAlive(pid))
	must.NoError(t, s.Host.Close())
	testkit.Eventually(t, "the idle service exits", func() bool { return !pidAlive(pid) })
}

func TestService_WorkersDieWithTheService(t *testing.T) {
	s := simtest.Start(t)
	port := newSite(t, s, "nomad-orphan", func(p *ps.AppPoolSpec) {
		p.StartMode = "AlwaysRunning"
		p.Attributes = []ps.Attribute{{Name: "processModel.maxProcesses", Value: "2"}}
	})
	var workers []int
	testkit.Eventually(t, "two workers run", func() bool { workers = workerPIDs(t, s, "nomad-orphan"); return len(workers) == 2 })
	before, err := s.IIS.GetServerInfo(ctx(t))
	must.NoError(t, err)
	must.False(t, before.ServiceStartTime.IsZero())
	must.NoError(t, syscall.Kill(servicePID(t, s.StateDir), syscall.SIGKILL))
	for _, w := range workers {
		testkit.Eventually(t, "worker "+strconv.Itoa(w)+" exits", func() bool { return !pidAlive(w) })
	}
	// The next call starts the service again: the AlwaysRunning pool gets new workers.
	var again []int
	testkit.Eventually(t, "new workers run", func() bool {
		again = workerPIDs(t, s, "nomad-orphan")
		return len(again) == 2
	})
	must.SliceNotContains(t, again, workers[0])
	// The restart shows in the service's start time; the workers that died
	// with the service are not crashes of the pool.
	after, err := s.IIS.GetServerInfo(ctx(t))
	must.NoError(t, err)
	must.True(t, after.ServiceStartTime.After(before.ServiceStartTime), must.Sprintf("start time %s, before %s", after.ServiceStartTime, before.ServiceStartTime))
	p, err := s.IIS.GetAppPool(ctx(t), "nomad-orphan")
	must.NoError(t, err)
	must.Eq(t, 0, p.WorkerCrashes)
	code, _, err := get(port, "/")
	must.NoError(t, err)
	must.EqOp(t, 200, code)
}

func TestPool_IdleTimeoutEndsOnDemandWorkers(t *testing.T) {
	// IIS takes the idle timeout in whole minutes; a minute lasts 300 ms here.
	s := simtest.Start(t, simtest.WithEnv("IISSIM_MINUTE=300ms"))
	idle := int64(60_000)
	port := newSite(t, s, "nomad-idle", func(p *ps.AppPoolSpec) { p.IdleTimeoutMs = &idle })
	_, first, err := get(port, "/pid.aspx")
	must.NoError(t, err)
	testkit.Eventually(t, "the idle worker stops", func() bool { return len(workerPIDs(t, s, "nomad-idle")) == 0 })
	p, err := s.IIS.GetAppPool(ctx(t), "nomad-idle")
	must.NoError(t, err)
	must.EqOp(t, ps.StateStarted, p.State)
	_, second, err := get(port, "/pid.aspx")
	must.NoError(t, err)
	must.NotEq(t, first, second)
}

func TestPool_PeriodicRestart(t *testing.T) {
	// IIS takes the periodic restart in whole minutes; a minute lasts 1 s here.
	s := simtest.Start(t, simtest.WithEnv("IISSIM_MINUTE=1s"))
	period := int64(60_000)
	newSite(t, s, "nomad-periodic", func(p *ps.AppPoolSpec) {
		p.StartMode = "AlwaysRunning"
		p.PeriodicRestartMs = &period
	})
	var first []int
	testkit.Eventually(t, "the worker runs", func() bool { first = workerPIDs(t, s, "nomad-periodic"); return len(first) == 1 })
	testkit.Eventually(t, "the pool recycles", func() bool {
		now := workerPIDs(t, s, "nomad-periodic")
		return len(now) == 1 && now[0] != first[0]
	})
}

func TestPool_StopWaitsForWorkersAndRecycleNeedsAStartedPool(t *testing.T) {
	s := simtest.Start(t)
	newSite(t, s, "nomad-stop", func(p *ps.AppPoolSpec) {
		p.StartMode = "AlwaysRunning"
		p.Attributes = []ps.Attribute{{Name: "processModel.maxProcesses", Value: "3"}}
	})
	var workers []int
	testkit.Eventually(t, "three workers run", func() bool { workers = workerPIDs(t, s, "nomad-stop"); return len(workers) == 3 })
	p, err := s.IIS.StopAppPool(ctx(t), "nomad-stop", 30_000)
	must.NoError(t, err)
	must.EqOp(t, ps.StateStopped, p.State)
	for _, w := range workers {
		must.False(t, pidAlive(w), must.Sprintf("worker %d still runs after StopAppPool waited", w))
	}
	_, err = s.IIS.RecycleAppPool(ctx(t), "nomad-stop")
	must.ErrorIs(t, err, ps.ErrConflict)
}

func TestPool_RapidFailProtectionStopsThePool(t *testing.T) {
	s := simtest.Start(t)
	port := newSite(t, s, "nomad-crashy", func(p *ps.AppPoolSpec) {
		p.StartMode = "AlwaysRunning"
		p.Attributes = []ps.Attribute{{Name: "failure.rapidFailProtectionMaxCrashes", Value: "3"}}
	})
	for crash := 1; crash <= 3; crash++ {
		var workers []int
		testkit.Eventually(t, "a worker runs", func() bool { workers = workerPIDs(t, s, "nomad-crashy"); return len(workers) == 1 })
		must.NoError(t, syscall.Kill(workers[0], syscall.SIGKILL))
		testkit.Eventually(t, "the worker is gone", func() bool { return !pidAlive(workers[0]) })
		if crash < 3 {
			testkit.Eventually(t, "the crash is counted", func() bool {
				p, err := s.IIS.GetAppPool(ctx(t), "nomad-crashy")
				must.NoError(t, err)
				return p.WorkerCrashes == crash
			})
		}
	}
	testkit.Eventually(t, "rapid-fail protection stops the pool", func() bool {
		p, err := s.IIS.GetAppPool(ctx(t), "nomad-crashy")
		must.NoError(t, err)
		return p.State == ps.StateStopped && p.WorkerCrashes == 3
	})
	code, _, err := get(port, "/")
	must.NoError(t, err)
	must.EqOp(t, http.StatusServiceUnavailable, code)
	// Starting it again serves again.
	_, err = s.IIS.StartAppPool(ctx(t), "nomad-crashy")
	must.NoError(t, err)
	code, _, err = get(port, "/")
	must.NoError(t, err)
	must.EqOp(t, http.StatusOK, code)
}

func TestService_LongStateDirPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("a-rather-long-directory-name-", 5))
	must.Greater(t, 108, len(filepath.Join(dir, "iissim.sock")))
	s := simtest.Start(t, simtest.WithStateDir(dir))
	port := newSite(t, s, "nomad-long", nil)
	code, body, err := get(port, "/")
	must.NoError(t, err)
	must.EqOp(t, 200, code)
	must.EqOp(t, "site nomad-long", body)
}

// aclRecords reads the task directories of the ACL records the service keeps.
func aclRecords(t *testing.T, stateDir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(stateDir, "applicationHost.json"))
	must.NoError(t, err)
	var cfg struct {
		DirectoryAcls []ps.TaskDirectoryAclArgs `json:"directoryAcls"`
	}
	must.NoError(t, json.Unmarshal(b, &cfg))
	var out []string
	for _, r := range cfg.DirectoryAcls {
		out = append(out, filepath.Join(r.AllocDir, r.TaskName))
	}
	return out
}

func TestService_PrunesAclRecords(t *testing.T) {
	s := simtest.Start(t)
	allocDir := t.TempDir()
	newTask := func(name string) string {
		local := filepath.Join(allocDir, name, "local")
		must.NoError(t, os.MkdirAll(local, 0o755))
		must.NoError(t, s.IIS.SetTaskDirectoryAcl(ctx(t), &ps.TaskDirectoryAclArgs{
			AllocDir: allocDir, TaskName: name, Identities: []string{`IIS AppPool\nomad-` + name},
		}))
		return local
	}
	local := newTask("web")
	_, err := s.IIS.NewTaskSite(ctx(t), &ps.TaskSiteSpec{
		SiteName:     "nomad-web",
		AppPools:     []ps.AppPoolSpec{{Name: "nomad-web"}},
		Applications: []ps.ApplicationSpec{{PhysicalPath: local, AppPool: "nomad-web"}},
		Bindings:     []ps.BindingSpec{{Protocol: "http", IPAddress: "*", Port: testkit.FreePort(t)}},
	})
	must.NoError(t, err)
	newTask("other")
	gone := newTask("gone")
	must.Eq(t, []string{filepath.Join(allocDir, "web"), filepath.Join(allocDir, "other"), filepath.Join(allocDir, "gone")}, aclRecords(t, s.StateDir))

	// Removing the task's site removes its record.
	_, err = s.IIS.RemoveTaskSite(ctx(t), &ps.RemoveTaskSiteArgs{SiteName: "nomad-web", AppPools: []string{"nomad-web"}})
	must.NoError(t, err)
	must.Eq(t, []string{filepath.Join(allocDir, "other"), filepath.Join(allocDir, "gone")}, aclRecords(t, s.StateDir))

	// A record whose task directory was removed is pruned when the service starts.
	must.NoError(t, os.RemoveAll(filepath.Dir(gone)))
	s.Stop(t)
	_, err = s.IIS.GetServerInfo(ctx(t))
	must.NoError(t, err)
	must.Eq(t, []string{filepath.Join(allocDir, "other")}, aclRecords(t, s.StateDir))
}

func TestPool_RapidFailProtectionSaysWhy(t *testing.T) {
	s := simtest.Start(t)
	newSite(t, s, "nomad-crashes", func(p *ps.AppPoolSpec) {
		p.StartMode = "AlwaysRunning"
		p.Attributes = []ps.Attribute{{Name: "failure.rapidFailProtectionMaxCrashes", Value: "2"}}
	})
	for crash := 1; crash <= 2; crash++ {
		var workers []int
		testkit.Eventually(t, "a worker runs", func() bool { workers = workerPIDs(t, s, "nomad-crashes"); return len(workers) == 1 })
		must.NoError(t, syscall.Kill(workers[0], syscall.SIGKILL))
		testkit.Eventually(t, "the worker is gone", func() bool { return !pidAlive(workers[0]) })
	}
	var p *ps.AppPool
	testkit.Eventually(t, "rapid-fail protection stops the pool", func() bool {
		var err error
		p, err = s.IIS.GetAppPool(ctx(t), "nomad-crashes")
		must.NoError(t, err)
		return p.State == ps.StateStopped
	})
	must.EqOp(t, ps.StopReasonRapidFailProtection, p.StopReason)

	// Started again, then stopped by someone: no reason.
	_, err := s.IIS.StartAppPool(ctx(t), "nomad-crashes")
	must.NoError(t, err)
	p, err = s.IIS.StopAppPool(ctx(t), "nomad-crashes", 10_000)
	must.NoError(t, err)
	must.EqOp(t, ps.StateStopped, p.State)
	must.EqOp(t, "", p.StopReason)
}
