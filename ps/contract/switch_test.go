package contract

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

// switchArgs switches the root directory of the root application of site.
func switchArgs(site, from, to string) *ps.SwitchApplicationVersionArgs {
	return &ps.SwitchApplicationVersionArgs{SiteName: site, ApplicationPath: "/", VirtualDirectoryPath: "/", PhysicalPath: to, ExpectedPhysicalPath: from}
}

// rootPath is the physical path the root application's root directory serves.
func (e *env) rootPath(t *testing.T, site string) string {
	t.Helper()
	w, err := e.iis.GetWebsite(ctx(t), site)
	must.NoError(t, err)
	for _, a := range w.Applications {
		if a.Path == "/" {
			for _, v := range a.VirtualDirectories {
				if v.Path == "/" {
					return v.PhysicalPath
				}
			}
		}
	}
	t.Fatalf("site %s has no root directory", site)
	return ""
}

func testSwitchOverlapped(t *testing.T, e *env) {
	name := e.name("switch")
	v1 := e.content(t, map[string]string{"index.html": "version 1", "pid.aspx": pidPage})
	v2 := e.content(t, map[string]string{"index.html": "version 2", "pid.aspx": pidPage})
	port := testkit.FreePort(t)
	spec := site(name, name, v1, port)
	spec.AppPools[0].StartMode = "AlwaysRunning"
	e.create(t, spec)
	first := e.waitWorkers(t, name, 1)[0]
	must.EqOp(t, "version 1", get(t, httpURL(port, "/"), "").body)

	// Requests run during the switch: every one is answered, by one version.
	load, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var failed, v1Seen, v2Seen atomic.Int64
	var firstFailure atomic.Value
	for range 8 {
		wg.Go(func() {
			for load.Err() == nil {
				r, err := tryGet(httpURL(port, "/"), "")
				switch {
				case err != nil:
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, err.Error())
				case r.status != http.StatusOK:
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, itoa(int64(r.status))+" "+r.body)
				case r.body == "version 1":
					v1Seen.Add(1)
				case r.body == "version 2":
					v2Seen.Add(1)
				default:
					failed.Add(1)
					firstFailure.CompareAndSwap(nil, "unexpected body "+r.body)
				}
			}
		})
	}
	testkit.Eventually(t, "load is running", func() bool { return v1Seen.Load() > 20 })
	res, err := e.iis.SwitchApplicationVersion(ctx(t), switchArgs(name, v1, v2))
	must.NoError(t, err)
	testkit.Eventually(t, "the new version is served", func() bool { return v2Seen.Load() > 20 })
	stop()
	wg.Wait()
	must.EqOp(t, int64(0), failed.Load(), must.Sprintf("requests failed during the switch; first: %v", firstFailure.Load()))

	must.EqOp(t, ps.SwitchOverlapped, res.Mode)
	must.EqOp(t, name, res.AppPool)
	must.EqOp(t, v1, res.PreviousPhysicalPath)
	must.EqOp(t, v2, res.PhysicalPath)
	must.EqOp(t, v2, e.rootPath(t, name))
	must.EqOp(t, "version 2", get(t, httpURL(port, "/"), "").body)
	// The old worker exits; the new one serves.
	waitExited(t, first)
	second := e.waitWorkers(t, name, 1)[0]
	must.NotEq(t, first, second)
	must.EqOp(t, second, pagePID(t, httpURL(port, "/pid.aspx")))

	// Back again, by the same operation.
	_, err = e.iis.SwitchApplicationVersion(ctx(t), switchArgs(name, v2, v1))
	must.NoError(t, err)
	must.EqOp(t, "version 1", get(t, httpURL(port, "/"), "").body)
}

func testSwitchWarmup(t *testing.T, e *env) {
	name := e.name("warmup")
	v1 := e.content(t, map[string]string{"index.html": "version 1", "health.html": "ok"})
	v2 := e.content(t, map[string]string{"index.html": "version 2"}) // no health page
	v3 := e.content(t, map[string]string{"index.html": "version 3", "health.html": "ok"})
	port := testkit.FreePort(t)
	spec := site(name, name, v1, port)
	e.create(t, spec)
	must.EqOp(t, "version 1", get(t, httpURL(port, "/"), "").body)

	args := switchArgs(name, v1, v2)
	args.WarmupPath, args.WarmupTimeoutMs = "/health.html", 1500
	_, err := e.iis.SwitchApplicationVersion(ctx(t), args)
	errorKindIs(t, err, ps.ErrInvalidArgument, "warmupPath")
	must.StrContains(t, err.Error(), "404")
	must.EqOp(t, v1, e.rootPath(t, name), must.Sprint("a failed warm-up changes nothing"))
	must.EqOp(t, "version 1", get(t, httpURL(port, "/"), "").body)

	args = switchArgs(name, v1, v3)
	args.WarmupPath = "/health.html"
	res, err := e.iis.SwitchApplicationVersion(ctx(t), args)
	must.NoError(t, err)
	must.EqOp(t, http.StatusOK, res.WarmupStatus)
	must.EqOp(t, "version 3", get(t, httpURL(port, "/"), "").body)
}

func testSwitchNoOverlap(t *testing.T, e *env) {
	yes := true
	name := e.name("switchstop")
	v1 := e.content(t, map[string]string{"index.html": "version 1"})
	v2 := e.content(t, map[string]string{"index.html": "version 2"})
	port := testkit.FreePort(t)
	spec := site(name, name, v1, port)
	spec.AppPools[0].DisallowOverlappingRotation = &yes
	e.create(t, spec)
	must.EqOp(t, "version 1", get(t, httpURL(port, "/"), "").body)

	_, err := e.iis.SwitchApplicationVersion(ctx(t), switchArgs(name, v1, v2))
	errorKindIs(t, err, ps.ErrConflict, "disallowOverlappingRotation")
	must.EqOp(t, v1, e.rootPath(t, name))

	args := switchArgs(name, v1, v2)
	args.AllowStopStart = true
	res, err := e.iis.SwitchApplicationVersion(ctx(t), args)
	must.NoError(t, err)
	must.EqOp(t, ps.SwitchStopStart, res.Mode)
	must.EqOp(t, ps.StateStarted, e.appPool(t, name).State)
	must.EqOp(t, "version 2", get(t, httpURL(port, "/"), "").body)
}

func testSwitchBadInput(t *testing.T, e *env) {
	name := e.name("switchbad")
	v1 := e.content(t, map[string]string{"index.html": "version 1"})
	v2 := e.content(t, map[string]string{"index.html": "version 2"})
	port := testkit.FreePort(t)
	e.create(t, site(name, name, v1, port))

	cases := []struct {
		name     string
		tune     func(a *ps.SwitchApplicationVersionArgs)
		kind     error
		mentions string
	}{
		{"relative physical path", func(a *ps.SwitchApplicationVersionArgs) { a.PhysicalPath = "relative" }, ps.ErrInvalidArgument, "physicalPath"},
		{"missing folder", func(a *ps.SwitchApplicationVersionArgs) { a.PhysicalPath = v2 + "-missing" }, ps.ErrInvalidArgument, "physicalPath"},
		{"application path", func(a *ps.SwitchApplicationVersionArgs) { a.ApplicationPath = "app" }, ps.ErrInvalidArgument, "applicationPath"},
		{"unknown site", func(a *ps.SwitchApplicationVersionArgs) { a.SiteName = name + "-none" }, ps.ErrNotFound, "does not exist"},
		{"unknown application", func(a *ps.SwitchApplicationVersionArgs) { a.ApplicationPath = "/none" }, ps.ErrNotFound, "/none"},
		{"unknown directory", func(a *ps.SwitchApplicationVersionArgs) { a.VirtualDirectoryPath = "/none" }, ps.ErrNotFound, "/none"},
		{"switched meanwhile", func(a *ps.SwitchApplicationVersionArgs) { a.ExpectedPhysicalPath = v2 }, ps.ErrConflict, "expected"},
		{"warm-up path", func(a *ps.SwitchApplicationVersionArgs) { a.WarmupPath = "health" }, ps.ErrInvalidArgument, "warmupPath"},
		{"warm-up timeout", func(a *ps.SwitchApplicationVersionArgs) { a.WarmupTimeoutMs = -1 }, ps.ErrInvalidArgument, "warmupTimeoutMs"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := switchArgs(name, v1, v2)
			tc.tune(args)
			_, err := e.iis.SwitchApplicationVersion(ctx(t), args)
			errorKindIs(t, err, tc.kind, tc.mentions)
			must.EqOp(t, v1, e.rootPath(t, name))
			must.True(t, strings.HasSuffix(get(t, httpURL(port, "/"), "").body, "version 1"))
		})
	}
}
