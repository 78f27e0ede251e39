package contract

import (
	"net/http"
	"strings"
	"testing"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

// stopWaitMs is how long the suite lets StopAppPool wait for workers.
const stopWaitMs = 60_000

// poolSite is a site whose pool is changed by tune, with the PID page.
func (e *env) poolSite(t *testing.T, suffix string, tune func(p *ps.AppPoolSpec)) (string, int) {
	t.Helper()
	dir := e.content(t, map[string]string{"index.html": "pool " + suffix, "pid.aspx": pidPage, "env.aspx": envPage})
	name := e.name(suffix)
	port := testkit.FreePort(t)
	spec := site(name, name, dir, port)
	if tune != nil {
		tune(&spec.AppPools[0])
	}
	e.create(t, spec)
	return name, port
}

func testOnDemand(t *testing.T, e *env) {
	name, port := e.poolSite(t, "ondemand", func(p *ps.AppPoolSpec) { p.StartMode = "OnDemand" })
	p := e.appPool(t, name)
	must.EqOp(t, ps.StateStarted, p.State)
	must.EqOp(t, "OnDemand", p.StartMode)
	must.SliceEmpty(t, pids(p), must.Sprint("an OnDemand pool has no worker before its first request"))

	pid := pagePID(t, httpURL(port, "/pid.aspx"))
	must.Eq(t, []int{pid}, pids(e.appPool(t, name)))
	must.True(t, pidAlive(pid))
	must.EqOp(t, pid, pagePID(t, httpURL(port, "/pid.aspx")))
}

func testLifecycle(t *testing.T, e *env) {
	name, port := e.poolSite(t, "life", func(p *ps.AppPoolSpec) { p.StartMode = "AlwaysRunning" })
	p := e.appPool(t, name)
	must.EqOp(t, "AlwaysRunning", p.StartMode)
	first := e.waitWorkers(t, name, 1)[0]
	must.True(t, pidAlive(first))
	must.False(t, e.appPool(t, name).WorkerProcesses[0].StartTime.IsZero())
	must.EqOp(t, first, pagePID(t, httpURL(port, "/pid.aspx")))

	// Recycle: a new worker, and the old one exits.
	rp, err := e.iis.RecycleAppPool(ctx(t), name)
	must.NoError(t, err)
	must.EqOp(t, ps.StateStarted, rp.State)
	var second int
	testkit.Eventually(t, name+" has a new worker", func() bool {
		got := pids(e.appPool(t, name))
		if len(got) == 1 && got[0] != first {
			second = got[0]
			return true
		}
		return false
	})
	waitExited(t, first)
	must.EqOp(t, second, pagePID(t, httpURL(port, "/pid.aspx")))

	// Stop waits for the worker; the site answers 503 meanwhile.
	sp, err := e.iis.StopAppPool(ctx(t), name, stopWaitMs)
	must.NoError(t, err)
	must.EqOp(t, ps.StateStopped, sp.State)
	must.SliceEmpty(t, pids(sp))
	waitExited(t, second)
	must.EqOp(t, http.StatusServiceUnavailable, get(t, httpURL(port, "/"), "").status)
	// Stopping a stopped pool changes nothing.
	sp, err = e.iis.StopAppPool(ctx(t), name, 0)
	must.NoError(t, err)
	must.EqOp(t, ps.StateStopped, sp.State)
	_, err = e.iis.RecycleAppPool(ctx(t), name)
	must.Error(t, err, must.Sprint("a stopped pool cannot be recycled"))

	// Start: a third worker.
	st, err := e.iis.StartAppPool(ctx(t), name)
	must.NoError(t, err)
	must.EqOp(t, ps.StateStarted, st.State)
	third := e.waitWorkers(t, name, 1)[0]
	must.NotEq(t, second, third)
	must.EqOp(t, third, pagePID(t, httpURL(port, "/pid.aspx")))
}

func testRecycleNoOverlap(t *testing.T, e *env) {
	yes := true
	name, port := e.poolSite(t, "nooverlap", func(p *ps.AppPoolSpec) { p.DisallowOverlappingRotation = &yes })
	first := pagePID(t, httpURL(port, "/pid.aspx"))
	_, err := e.iis.RecycleAppPool(ctx(t), name)
	must.NoError(t, err)
	waitExited(t, first)
	second := pagePID(t, httpURL(port, "/pid.aspx"))
	must.NotEq(t, first, second)
	must.Eq(t, []int{second}, pids(e.appPool(t, name)))
}

func testWebGarden(t *testing.T, e *env) {
	name, port := e.poolSite(t, "garden", func(p *ps.AppPoolSpec) {
		p.StartMode = "AlwaysRunning"
		p.Attributes = []ps.Attribute{{Name: "processModel.maxProcesses", Value: "2"}}
	})
	garden := e.waitWorkers(t, name, 2)
	must.NotEq(t, garden[0], garden[1])
	for _, pid := range garden {
		must.True(t, pidAlive(pid))
	}
	for range 6 {
		must.SliceContains(t, garden, pagePID(t, httpURL(port, "/pid.aspx")))
	}
	sp, err := e.iis.StopAppPool(ctx(t), name, stopWaitMs)
	must.NoError(t, err)
	must.EqOp(t, ps.StateStopped, sp.State)
	for _, pid := range garden {
		waitExited(t, pid)
	}
}

func testEnvironment(t *testing.T, e *env) {
	tmp := t.TempDir()
	name, port := e.poolSite(t, "env", func(p *ps.AppPoolSpec) {
		p.EnvironmentVariables = []ps.EnvVar{
			{Name: "GREETING", Value: "hello from nomad"},
			{Name: "TMP", Value: tmp},
			{Name: "TEMP", Value: tmp},
		}
	})
	r := get(t, httpURL(port, "/env.aspx"), "")
	must.EqOp(t, http.StatusOK, r.status)
	must.StrContains(t, r.body, "greeting=hello from nomad;")
	must.StrContains(t, r.body, "temp="+tmp+";")
	must.StrContains(t, r.body, "pool="+name)
}

func testEmptyEnvironmentValue(t *testing.T, e *env) {
	// IIS refuses an empty value, and on Windows an empty value means
	// unset: the variable is left out and the rest of the pool is made.
	name, port := e.poolSite(t, "envempty", func(p *ps.AppPoolSpec) {
		p.EnvironmentVariables = []ps.EnvVar{
			{Name: "GREETING", Value: ""},
			{Name: "APP_SETTING", Value: "kept"},
		}
	})
	r := get(t, httpURL(port, "/env.aspx"), "")
	must.EqOp(t, http.StatusOK, r.status)
	must.StrContains(t, r.body, "greeting=;")
	must.StrContains(t, r.body, "pool="+name)
	must.EqOp(t, ps.StateStarted, e.appPool(t, name).State)
}

func testStoppedHTTPLevel(t *testing.T, e *env) {
	name, port := e.poolSite(t, "httplevel", func(p *ps.AppPoolSpec) { p.LoadBalancerCapabilities = "HttpLevel" })
	must.EqOp(t, http.StatusOK, get(t, httpURL(port, "/"), "").status)
	_, err := e.iis.StopAppPool(ctx(t), name, stopWaitMs)
	must.NoError(t, err)
	r := get(t, httpURL(port, "/"), "")
	must.EqOp(t, http.StatusServiceUnavailable, r.status)
	must.StrContains(t, strings.ToLower(r.body), "service unavailable")
	_, err = e.iis.StartAppPool(ctx(t), name)
	must.NoError(t, err)
	must.EqOp(t, "pool httplevel", get(t, httpURL(port, "/"), "").body)
}

func testStoppedTCPLevel(t *testing.T, e *env) {
	name, port := e.poolSite(t, "tcplevel", func(p *ps.AppPoolSpec) { p.LoadBalancerCapabilities = "TcpLevel" })
	must.EqOp(t, http.StatusOK, get(t, httpURL(port, "/"), "").status)
	_, err := e.iis.StopAppPool(ctx(t), name, stopWaitMs)
	must.NoError(t, err)
	must.True(t, dropped(t, port), must.Sprint("a stopped TcpLevel pool closes the connection without a response"))
	_, err = e.iis.StartAppPool(ctx(t), name)
	must.NoError(t, err)
	must.EqOp(t, "pool tcplevel", get(t, httpURL(port, "/"), "").body)
}

func testKilledWorker(t *testing.T, e *env) {
	name, port := e.poolSite(t, "killed", nil)
	first := pagePID(t, httpURL(port, "/pid.aspx"))
	must.NoError(t, killProcess(first))
	waitExited(t, first)
	var second int
	testkit.Eventually(t, "a new worker answers", func() bool {
		r, err := tryGet(httpURL(port, "/pid.aspx"), "")
		if err != nil || r.status != http.StatusOK {
			return false
		}
		pid := strings.TrimPrefix(strings.TrimSpace(r.body), "pid=")
		return pid != itoa(int64(first)) && pid != ""
	})
	second = pagePID(t, httpURL(port, "/pid.aspx"))
	must.NotEq(t, first, second)
	must.SliceContains(t, pids(e.appPool(t, name)), second)
	must.EqOp(t, ps.StateStarted, e.appPool(t, name).State)
}
