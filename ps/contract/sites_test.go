package contract

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

func testServerInfo(t *testing.T, e *env) {
	ci, err := e.iis.TestConnection(ctx(t))
	must.NoError(t, err)
	must.EqOp(t, e.be.Name(), ci.Backend)
	must.Positive(t, ci.ProcessID)

	si, err := e.iis.GetServerInfo(ctx(t))
	must.NoError(t, err)
	must.EqOp(t, e.be.Name(), si.Backend)
	must.NotEq(t, "", si.IISVersion)
	must.EqOp(t, "Running", si.W3SVCState)
}

func testSiteServesFiles(t *testing.T, e *env) {
	dir := e.content(t, map[string]string{
		"index.html":      "<h1>home</h1>",
		"hello.txt":       "hello",
		"sub/default.htm": "sub home",
		"Docs/Guide.txt":  "guide",
	})
	port := testkit.FreePort(t)
	name := e.name("files")
	ts := e.create(t, site(name, name, dir, port))
	must.EqOp(t, name, ts.SiteName)
	must.Positive(t, ts.SiteID)
	must.Eq(t, []string{name}, ts.AppPools)
	must.Eq(t, []string{""}, ts.Applications)

	r := get(t, httpURL(port, "/"), "")
	must.EqOp(t, http.StatusOK, r.status)
	must.EqOp(t, "<h1>home</h1>", r.body)
	must.StrHasPrefix(t, "text/html", r.header.Get("Content-Type"))

	r = get(t, httpURL(port, "/hello.txt"), "")
	must.EqOp(t, http.StatusOK, r.status)
	must.EqOp(t, "hello", r.body)
	must.StrHasPrefix(t, "text/plain", r.header.Get("Content-Type"))

	r = get(t, httpURL(port, "/sub/"), "")
	must.EqOp(t, http.StatusOK, r.status)
	must.EqOp(t, "sub home", r.body)

	r = get(t, httpURL(port, "/sub"), "")
	must.EqOp(t, http.StatusMovedPermanently, r.status)
	must.StrHasSuffix(t, "/sub/", r.header.Get("Location"))

	// Windows file names and IIS paths ignore case.
	r = get(t, httpURL(port, "/docs/guide.TXT"), "")
	must.EqOp(t, http.StatusOK, r.status)
	must.EqOp(t, "guide", r.body)

	r = get(t, httpURL(port, "/missing.txt"), "")
	must.EqOp(t, http.StatusNotFound, r.status)

	ws, err := e.iis.GetWebsite(ctx(t), name)
	must.NoError(t, err)
	must.EqOp(t, name, ws.Name)
	must.EqOp(t, ts.SiteID, ws.ID)
	must.EqOp(t, ps.StateStarted, ws.State)
	must.Len(t, 1, ws.Bindings)
	must.EqOp(t, "http", ws.Bindings[0].Protocol)
	must.EqOp(t, port, ws.Bindings[0].Port)
	must.EqOp(t, "127.0.0.1", ws.Bindings[0].IPAddress)
	must.Len(t, 1, ws.Applications)
	must.EqOp(t, "/", ws.Applications[0].Path)
	must.EqOp(t, name, ws.Applications[0].AppPool)
	must.Eq(t, []ps.VirtualDirectory{{Path: "/", PhysicalPath: dir}}, ws.Applications[0].VirtualDirectories)

	lines := logLines(e.be.RequestLog(t, ts.SiteID))
	found := map[string]bool{}
	for _, l := range lines {
		if l["cs-method"] == "GET" && l["s-port"] == strconv.Itoa(port) {
			found[l["cs-uri-stem"]+" "+l["sc-status"]] = true
		}
	}
	must.True(t, found["/hello.txt 200"], must.Sprintf("log lines: %v", lines))
	must.True(t, found["/missing.txt 404"], must.Sprintf("log lines: %v", lines))
}

func testSiteIDs(t *testing.T, e *env) {
	dir := e.content(t, map[string]string{"index.html": "ids"})
	a := site(e.name("ida"), e.name("ida"), dir, testkit.FreePort(t))
	b := site(e.name("idb"), e.name("idb"), dir, testkit.FreePort(t))
	tsA := e.create(t, a)
	tsB := e.create(t, b)
	must.NotEq(t, tsA.SiteID, tsB.SiteID)
	e.remove(t, a)
	c := site(e.name("idc"), e.name("idc"), dir, testkit.FreePort(t))
	tsC := e.create(t, c)
	must.EqOp(t, tsA.SiteID, tsC.SiteID)
}

func testMultiPool(t *testing.T, e *env) {
	front := e.content(t, map[string]string{"index.html": "front", "pid.aspx": pidPage})
	api := e.content(t, map[string]string{"index.html": "api", "pid.aspx": pidPage})
	pa, pb := e.name("mp-front"), e.name("mp-api")
	port := testkit.FreePort(t)
	spec := &ps.TaskSiteSpec{
		SiteName: e.name("mp"),
		AppPools: []ps.AppPoolSpec{pool(pa), pool(pb)},
		Applications: []ps.ApplicationSpec{
			{Alias: "", PhysicalPath: front, AppPool: pa},
			{Alias: "api", PhysicalPath: api, AppPool: pb},
		},
		Bindings: []ps.BindingSpec{{Protocol: "http", IPAddress: "127.0.0.1", Port: port}},
	}
	ts := e.create(t, spec)
	must.SliceContainsAll(t, []string{pa, pb}, ts.AppPools)
	must.SliceContainsAll(t, []string{"", "api"}, ts.Applications)

	must.EqOp(t, "front", get(t, httpURL(port, "/"), "").body)
	must.EqOp(t, "api", get(t, httpURL(port, "/api/"), "").body)
	must.EqOp(t, "api", get(t, httpURL(port, "/API/index.html"), "").body)

	pidA := pagePID(t, httpURL(port, "/pid.aspx"))
	pidB := pagePID(t, httpURL(port, "/api/pid.aspx"))
	must.NotEq(t, pidA, pidB)
	must.SliceContains(t, pids(e.appPool(t, pa)), pidA)
	must.SliceContains(t, pids(e.appPool(t, pb)), pidB)
	must.True(t, pidAlive(pidA))
	must.True(t, pidAlive(pidB))
}

func testVirtualDirectories(t *testing.T, e *env) {
	root := e.content(t, map[string]string{"index.html": "root"})
	assets := e.content(t, map[string]string{"logo.txt": "logo"})
	docs := e.content(t, map[string]string{"index.html": "docs home"})
	api := e.content(t, map[string]string{"index.html": "api"})
	apiStatic := e.content(t, map[string]string{"s.txt": "api static"})
	name := e.name("vdir")
	port := testkit.FreePort(t)
	spec := &ps.TaskSiteSpec{
		SiteName: name,
		AppPools: []ps.AppPoolSpec{pool(name)},
		Applications: []ps.ApplicationSpec{
			{Alias: "", PhysicalPath: root, AppPool: name, VirtualDirectories: []ps.VirtualDirectorySpec{
				{Alias: "assets", PhysicalPath: assets},
				{Alias: "docs", PhysicalPath: docs},
			}},
			{Alias: "api", PhysicalPath: api, AppPool: name, VirtualDirectories: []ps.VirtualDirectorySpec{
				{Alias: "static", PhysicalPath: apiStatic},
			}},
		},
		Bindings: []ps.BindingSpec{{Protocol: "http", IPAddress: "127.0.0.1", Port: port}},
	}
	e.create(t, spec)
	for path, want := range map[string]string{
		"/index.html":       "root",
		"/assets/logo.txt":  "logo",
		"/docs/":            "docs home",
		"/api/":             "api",
		"/api/static/s.txt": "api static",
	} {
		r := get(t, httpURL(port, path), "")
		must.EqOp(t, http.StatusOK, r.status, must.Sprintf("GET %s", path))
		must.EqOp(t, want, r.body, must.Sprintf("GET %s", path))
	}
	must.EqOp(t, http.StatusNotFound, get(t, httpURL(port, "/assets/index.html"), "").status)

	ws, err := e.iis.GetWebsite(ctx(t), name)
	must.NoError(t, err)
	dirs := map[string]string{}
	for _, a := range ws.Applications {
		for _, v := range a.VirtualDirectories {
			dirs[a.Path+" "+v.Path] = v.PhysicalPath
		}
	}
	must.Eq(t, map[string]string{
		"/ /":          root,
		"/ /assets":    assets,
		"/ /docs":      docs,
		"/api /":       api,
		"/api /static": apiStatic,
	}, dirs)
}

func testHostHeaders(t *testing.T, e *env) {
	port := testkit.FreePort(t)
	for _, h := range []string{"a", "b"} {
		dir := e.content(t, map[string]string{"index.html": "site " + h})
		spec := site(e.name("hh-"+h), e.name("hh-"+h), dir, port)
		spec.Bindings[0].Hostname = h + ".example.test"
		e.create(t, spec)
	}
	must.EqOp(t, "site a", get(t, httpURL(port, "/"), "a.example.test").body)
	must.EqOp(t, "site b", get(t, httpURL(port, "/"), "B.Example.Test").body)
	must.EqOp(t, http.StatusBadRequest, get(t, httpURL(port, "/"), "c.example.test").status)
}

func testTargetWebsite(t *testing.T, e *env) {
	owner := "contract" + strings.TrimPrefix(e.prefix, "nomad-ct") + "-owner"
	ownerDir := e.content(t, map[string]string{"index.html": "owner"})
	port := testkit.FreePort(t)
	ownerSite := e.create(t, site(owner, owner, ownerDir, port))

	childDir := e.content(t, map[string]string{"index.html": "child"})
	cp := e.name("tw-child")
	child := &ps.TaskSiteSpec{
		TargetWebsite: owner,
		AppPools:      []ps.AppPoolSpec{pool(cp)},
		Applications:  []ps.ApplicationSpec{{Alias: "child", PhysicalPath: childDir, AppPool: cp}},
	}
	ts := e.create(t, child)
	must.EqOp(t, owner, ts.SiteName)
	must.EqOp(t, ownerSite.SiteID, ts.SiteID)
	must.Eq(t, []string{"child"}, ts.Applications)
	must.EqOp(t, "child", get(t, httpURL(port, "/child/"), "").body)
	must.EqOp(t, "owner", get(t, httpURL(port, "/"), "").body)

	// The same alias again is a conflict, and its pool is not created.
	again := e.name("tw-again")
	_, err := e.iis.NewTaskSite(ctx(t), &ps.TaskSiteSpec{
		TargetWebsite: owner,
		AppPools:      []ps.AppPoolSpec{pool(again)},
		Applications:  []ps.ApplicationSpec{{Alias: "child", PhysicalPath: childDir, AppPool: again}},
	})
	errorKindIs(t, err, ps.ErrConflict, "child")
	gone, err := e.iis.GetAppPools(ctx(t), again)
	must.NoError(t, err)
	must.SliceEmpty(t, gone)

	// A task may not replace the root application of a site it does not own.
	_, err = e.iis.NewTaskSite(ctx(t), &ps.TaskSiteSpec{
		TargetWebsite: owner,
		AppPools:      []ps.AppPoolSpec{pool(again)},
		Applications:  []ps.ApplicationSpec{{Alias: "", PhysicalPath: childDir, AppPool: again}},
	})
	errorKindIs(t, err, ps.ErrInvalidArgument, "")

	_, err = e.iis.NewTaskSite(ctx(t), &ps.TaskSiteSpec{
		TargetWebsite: owner + "-missing",
		AppPools:      []ps.AppPoolSpec{pool(again)},
		Applications:  []ps.ApplicationSpec{{Alias: "x", PhysicalPath: childDir, AppPool: again}},
	})
	errorKindIs(t, err, ps.ErrNotFound, owner+"-missing")

	// Removing the task removes its application only.
	e.remove(t, child)
	must.EqOp(t, http.StatusNotFound, get(t, httpURL(port, "/child/"), "").status)
	must.EqOp(t, "owner", get(t, httpURL(port, "/"), "").body)
	ws, err := e.iis.GetWebsite(ctx(t), owner)
	must.NoError(t, err)
	must.Len(t, 1, ws.Applications)
	_, err = e.iis.GetAppPool(ctx(t), cp)
	must.ErrorIs(t, err, ps.ErrNotFound)
}
