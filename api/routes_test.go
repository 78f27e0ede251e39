package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/mux"
	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/nomad-iis/nomad-iis/ps"
)

// TestRoutes_Matrix sends each route the requests that produce each of its
// status codes.
func TestRoutes_Matrix(t *testing.T) {
	zipBody := func() *bytes.Reader {
		return bytes.NewReader(testkit.MakeZip(testkit.ZipEntry{Name: "a.txt", Body: "a"}))
	}
	type req struct {
		name   string
		method string
		url    string
		body   func() *bytes.Reader
		ct     string
		opts   []reqOpt
		setup  func(e *env)
		status int
	}
	none := func() *bytes.Reader { return bytes.NewReader(nil) }
	unknownTask := "/api/v1/allocs/" + testAlloc + "/ghost"
	cases := []req{
		// status
		{"status ok", "GET", taskURL("/status"), none, "", nil, nil, 200},
		{"status unauthenticated", "GET", taskURL("/status"), none, "", []reqOpt{withHeader("X", "1")}, nil, 401},
		{"status unknown task", "GET", unknownTask + "/status", none, "", nil, nil, 404},
		{"status backend down", "GET", taskURL("/status"), none, "", nil, func(e *env) {
			e.iis.fail["GetAppPools"] = &ps.Error{Op: ps.OpGetAppPool, Kind: ps.KindUnavailable, Message: "host restarting"}
		}, 503},
		{"status wrong method", "POST", taskURL("/status"), none, "", nil, nil, 405},
		// lifecycle
		{"start", "PUT", taskURL("/start"), none, "", nil, nil, 200},
		{"stop one pool", "PUT", taskURL("/stop?appPoolName=api"), none, "", nil, nil, 200},
		{"recycle", "PUT", taskURL("/recycle"), none, "", nil, nil, 200},
		{"stop unknown pool", "PUT", taskURL("/stop?appPoolName=nope"), none, "", nil, nil, 404},
		{"start unknown task", "PUT", unknownTask + "/start", none, "", nil, nil, 404},
		{"recycle refused by IIS", "PUT", taskURL("/recycle"), none, "", nil, func(e *env) {
			e.iis.fail["RecycleAppPool"] = &ps.Error{Op: ps.OpRestartAppPool, Kind: ps.KindConflict, Message: "the pool is stopped"}
		}, 409},
		{"start with GET", "GET", taskURL("/start"), none, "", nil, nil, 405},
		// fs
		{"download", "GET", taskURL("/fs/local%2Findex.html"), none, "", nil, nil, 200},
		{"download folder", "GET", taskURL("/fs/local"), none, "", nil, nil, 200},
		{"download missing", "GET", taskURL("/fs/local%2Fnope"), none, "", nil, nil, 404},
		{"download secrets", "GET", taskURL("/fs/secrets"), none, "", nil, nil, 403},
		{"download bad path", "GET", taskURL("/fs/..%2Fx"), none, "", nil, nil, 400},
		{"download folder, downloads busy", "GET", taskURL("/fs/local"), none, "", nil, func(e *env) {
			for range cap(e.srv.zipSem) {
				e.srv.zipSem <- struct{}{}
			}
		}, 429},
		{"upload zip", "PUT", taskURL("/fs/local"), zipBody, "application/zip", nil, nil, 200},
		{"upload file", "PATCH", taskURL("/fs/local%2Fa.txt"), zipBody, "text/plain", nil, nil, 200},
		{"upload not a zip", "PUT", taskURL("/fs/local"), none, "application/zip", nil, nil, 400},
		{"upload conflict", "PUT", taskURL("/fs/local"), zipBody, "application/zip", nil, func(e *env) { e.srv.locks.tryLock(e.task.TaskID, "test") }, 409},
		{"upload too large", "PUT", taskURL("/fs/local"), zipBody, "application/zip", nil, func(e *env) { e.srv.cfg.MaxUploadBytes = 10 }, 413},
		{"upload, backend down", "PUT", taskURL("/fs/local"), zipBody, "application/zip", nil, func(e *env) { e.srv.iis = testkit.DownIIS{} }, 503},
		{"upload secrets", "PUT", taskURL("/fs/secrets%2Fx"), zipBody, "text/plain", nil, nil, 403},
		{"delete", "DELETE", taskURL("/fs/local%2Findex.html"), none, "", nil, nil, 200},
		{"delete missing", "DELETE", taskURL("/fs/local%2Fnope"), none, "", nil, nil, 404},
		{"delete private", "DELETE", taskURL("/fs/private"), none, "", nil, nil, 403},
		{"fs with POST", "POST", taskURL("/fs/local"), none, "", nil, nil, 405},
		{"fs without a path", "GET", taskURL("/fs/"), none, "", nil, nil, 404},
		// ls
		{"list root", "GET", taskURL("/ls"), none, "", nil, nil, 200},
		{"list folder", "GET", taskURL("/ls/local"), none, "", nil, nil, 200},
		{"list missing", "GET", taskURL("/ls/nope"), none, "", nil, nil, 404},
		{"list bad path", "GET", taskURL("/ls/C:"), none, "", nil, nil, 400},
		// screenshot (the browser itself is tested in screenshot_test.go)
		{"screenshot without http binding", "GET", taskURL("/screenshot"), none, "", nil, func(e *env) { e.setBindings(nil) }, 404},
		{"screenshot bad path", "GET", taskURL("/screenshot?path=//evil.example/x"), none, "", nil, nil, 400},
		{"screenshot no driver", "GET", taskURL("/screenshot"), none, "", nil, func(e *env) {
			t.Setenv(EnvPlaywrightDriver, "")
			e.srv.shots.cfg.PlaywrightDriverDir = ""
		}, 503},
		{"screenshot busy", "GET", taskURL("/screenshot"), none, "", nil, func(e *env) {
			e.srv.cfg.ScreenshotTimeout = 1
			for range cap(e.srv.shots.sem) {
				e.srv.shots.sem <- struct{}{}
			}
		}, 429},
		// procdump
		{"procdump unknown pool", "GET", taskURL("/procdump?appPoolName=nope"), none, "", nil, nil, 404},
		{"procdump bad pid", "GET", taskURL("/procdump?pid=x"), none, "", nil, nil, 400},
		{"procdump pid of another process", "GET", taskURL("/procdump?pid=1"), none, "", nil, nil, 404},
		{"procdump no worker", "GET", taskURL("/procdump"), none, "", nil, func(e *env) { e.clearWorkers() }, 409},
		{"procdump busy", "GET", taskURL("/procdump"), none, "", nil, func(e *env) { e.srv.dumpSem <- struct{}{} }, 429},
		{"procdump tool missing", "GET", taskURL("/procdump"), none, "", nil, func(e *env) { e.srv.dumper = missingTool{} }, 503},
		// debug, openapi, version, unknown routes
		{"debug", "GET", "/api/v1/debug", none, "", nil, nil, 200},
		{"debug backend down", "GET", "/api/v1/debug", none, "", nil, func(e *env) { e.srv.iis = testkit.DownIIS{} }, 503},
		{"openapi", "GET", "/api/v1/openapi.json", none, "", nil, nil, 200},
		{"version", "GET", "/api/v1/version", none, "", nil, nil, 200},
		{"version unauthenticated", "GET", "/api/v1/version", none, "", []reqOpt{withHeader("X", "1")}, nil, 401},
		{"version wrong method", "PUT", "/api/v1/version", none, "", nil, nil, 405},
		{"unknown route", "GET", "/api/v1/nothing", none, "", nil, nil, 404},
		{"unknown route unauthenticated", "GET", "/api/v1/nothing", none, "", []reqOpt{withHeader("X", "1")}, nil, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if tc.setup != nil {
				tc.setup(e)
			}
			opts := tc.opts
			if opts == nil {
				opts = []reqOpt{withKey(testKey)}
			}
			if tc.ct != "" {
				opts = append(opts, withHeader("Content-Type", tc.ct))
			}
			rec := e.do(tc.method, tc.url, tc.body(), opts...)
			must.Eq(t, tc.status, rec.Code, must.Sprintf("body: %s", rec.Body.String()))
			if tc.status >= 400 {
				problemOf(t, rec)
			}
			if tc.status == 405 {
				must.NotEq(t, "", rec.Header().Get("Allow"))
			}
		})
	}
}

type missingTool struct{}

func (missingTool) Dump(ctx context.Context, pid int, dir string) (string, string, error) {
	return "", "", &toolMissingError{msg: "no tool here"}
}

func (e *env) setBindings(b []ps.BindingSpec) {
	t := e.reg.List()[0]
	t.Bindings = b
	e.reg.Update(t)
}

func (e *env) clearWorkers() {
	e.iis.mu.Lock()
	defer e.iis.mu.Unlock()
	for _, p := range e.iis.pools {
		p.WorkerProcesses = nil
	}
}

func TestStatus_Shape(t *testing.T) {
	e := newEnv(t)
	e.iis.setState(e.task.AppPools["api"], "Stopped")
	rec := e.do("GET", taskURL("/status"), nil)
	must.Eq(t, 200, rec.Code)
	var st statusResponse
	must.NoError(t, json.Unmarshal(rec.Body.Bytes(), &st))
	must.Eq(t, testAlloc, st.AllocID)
	must.Eq(t, "app", st.TaskName)
	must.Len(t, 2, st.ApplicationPools)
	must.Eq(t, "default", st.ApplicationPools[0].Name, must.Sprint("the default pool first"))
	must.NotNil(t, st.DefaultApplicationPool)
	must.Eq(t, "default", st.DefaultApplicationPool.Name)
	must.Eq(t, "Started", st.DefaultApplicationPool.Status)
	must.True(t, st.DefaultApplicationPool.IsWorkerProcessRunning)
	must.Eq(t, "Stopped", st.ApplicationPools[1].Status)
	wp := st.DefaultApplicationPool.WorkerProcesses[0]
	must.NotNil(t, wp.MemoryBytes, must.Sprint("the worker (this test process) is measured"))
	must.Positive(t, *wp.MemoryBytes)
	must.NotNil(t, wp.CPUSeconds)
	// nomad-iis 0.20 field names.
	for _, f := range []string{`"allocId"`, `"taskName"`, `"defaultApplicationPool"`, `"applicationPools"`, `"isWorkerProcessRunning"`, `"status"`} {
		must.StrContains(t, rec.Body.String(), f)
	}
}

func TestStatus_CachedSingleFlightAndInvalidated(t *testing.T) {
	e := newEnv(t)
	e.iis.getDelay = 50_000_000 // 50 ms: the concurrent misses overlap
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rec := e.do("GET", taskURL("/status"), nil)
			must.Eq(t, 200, rec.Code)
		}()
	}
	wg.Wait()
	e.iis.mu.Lock()
	calls := e.iis.getCalls
	e.iis.mu.Unlock()
	must.Eq(t, 1, calls, must.Sprint("20 concurrent requests, one backend call"))
	must.Eq(t, 200, e.do("GET", taskURL("/status"), nil).Code)
	e.iis.mu.Lock()
	calls = e.iis.getCalls
	e.iis.mu.Unlock()
	must.Eq(t, 1, calls, must.Sprint("served from the cache"))

	// A stop invalidates: the next status shows the new state.
	must.Eq(t, 200, e.do("PUT", taskURL("/stop"), nil).Code)
	rec := e.do("GET", taskURL("/status"), nil)
	var st statusResponse
	must.NoError(t, json.Unmarshal(rec.Body.Bytes(), &st))
	must.Eq(t, "Stopped", st.DefaultApplicationPool.Status)
	must.StrContains(t, strings.Join(e.reg.Events(), "\n"), "ApplicationPool default stopped")
}

func TestLifecycle_ActsOnAllOrOnePool(t *testing.T) {
	e := newEnv(t)
	def, api := e.task.AppPools["default"], e.task.AppPools["api"]
	rec := e.do("PUT", taskURL("/recycle"), nil)
	must.Eq(t, 200, rec.Code)
	must.Eq(t, []string{"RecycleAppPool " + def, "RecycleAppPool " + api}, e.iis.callLog())
	rec = e.do("PUT", taskURL("/stop?appPoolName=API"), nil)
	must.Eq(t, 200, rec.Code)
	var res lifecycleResult
	must.NoError(t, json.Unmarshal(rec.Body.Bytes(), &res))
	must.Eq(t, []poolResult{{Name: "api", IISName: api, Status: "Stopped"}}, res.ApplicationPools)
	rec = e.do("PUT", taskURL("/start?appPoolName="+api), nil)
	must.Eq(t, 200, rec.Code, must.Sprint("the IIS name is accepted too"))
	must.Eq(t, "StartAppPool "+api, e.iis.callLog()[3])
}

func TestDebug_Shape(t *testing.T) {
	e := newEnv(t)
	rec := e.do("GET", "/api/v1/debug", nil)
	must.Eq(t, 200, rec.Code)
	var d debugResponse
	must.NoError(t, json.Unmarshal(rec.Body.Bytes(), &d))
	must.Eq(t, 2, d.IISHandleCount)
	must.Eq(t, 1, d.DanglingIISAppPools)
	must.Eq(t, 1, d.DanglingIISWebsites)
	for _, p := range d.IISAppPools {
		must.Eq(t, p.Name == "nomad-orphan-pool", p.IsDangling)
	}
	must.NotNil(t, d.Extensions)
	must.Len(t, 2, d.Extensions.Scripts)
	must.Eq(t, "Failed", d.Extensions.Scripts[1].Status)
	must.Eq(t, "not executable", d.Extensions.Scripts[1].Error)
}

// TestOpenAPI_MatchesRouter walks the router and the document both ways:
// every route is documented, and every documented operation is routed.
func TestOpenAPI_MatchesRouter(t *testing.T) {
	e := newEnv(t)
	var routed []string
	must.NoError(t, e.srv.router.Walk(func(r *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := r.GetPathTemplate()
		if err != nil {
			return err
		}
		methods, err := r.GetMethods()
		if err != nil {
			return err
		}
		for _, m := range methods {
			routed = append(routed, m+" "+openAPIPath(tpl))
		}
		return nil
	}))
	rec := e.do("GET", "/api/v1/openapi.json", nil)
	must.Eq(t, 200, rec.Code)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	must.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	must.StrHasPrefix(t, "3.", doc.OpenAPI)
	var documented []string
	for p, ops := range doc.Paths {
		for m, op := range ops {
			documented = append(documented, strings.ToUpper(m)+" "+p)
			var o struct {
				Responses map[string]any `json:"responses"`
				Security  *[]any         `json:"security"`
			}
			must.NoError(t, json.Unmarshal(op, &o))
			if o.Security != nil && len(*o.Security) == 0 {
				// A public route (a download link) takes no credentials.
				must.MapNotContainsKey(t, o.Responses, "401")
				continue
			}
			must.MapContainsKey(t, o.Responses, "401")
		}
	}
	sort.Strings(routed)
	sort.Strings(documented)
	must.Eq(t, routed, documented)
	must.SliceContains(t, documented, "PUT /api/v1/allocs/{allocId}/{taskName}/fs/{path}")
}

// TestAudit_OneLinePerMutationAndNoSecrets checks the audit lines and that
// no log line carries a key or a token, whatever the request.
func TestAudit_OneLinePerMutationAndNoSecrets(t *testing.T) {
	e := newEnv(t)
	tok := token(t, jwt.MapClaims{"sub": "ci-deployer", "capabilities": []string{"FilesystemAccess", "AppPoolLifecycle", "Status"}})
	e.do("GET", taskURL("/status"), nil, withKey(testKey2))
	e.do("PUT", taskURL("/fs/local%2Fa.txt"), strings.NewReader("a"), withKey(testKey2), withHeader("Content-Type", "text/plain"))
	e.do("DELETE", taskURL("/fs/local%2Fa.txt"), nil, withBearer(tok))
	e.do("PUT", taskURL("/stop"), nil, withBearer(tok))
	e.do("PUT", taskURL("/fs/secrets%2Fx"), strings.NewReader("a"), withKey(testKey), withHeader("Content-Type", "text/plain"))
	e.do("GET", taskURL("/status"), nil, withKey("wrong-key-wrong-key"))
	e.do("GET", taskURL("/status"), nil, withBearer(tok+"tampered"))
	logs := e.logBuf.String()
	for _, secret := range []string{testKey2, "wrong-key-wrong-key", tok, strings.Split(tok, ".")[2], testSecret} {
		must.StrNotContains(t, logs, secret)
	}
	var audit []string
	for _, l := range strings.Split(logs, "\n") {
		if strings.Contains(l, "audit: method=") {
			audit = append(audit, l)
		}
	}
	must.Len(t, 4, audit, must.Sprintf("logs:\n%s", logs))
	must.StrContains(t, audit[0], `caller="api-key#2"`)
	must.StrContains(t, audit[0], "path=local/a.txt")
	must.StrContains(t, audit[0], "status=200")
	must.StrContains(t, audit[0], "bytes_in=1")
	must.StrContains(t, audit[1], `caller="jwt sub=ci-deployer`)
	must.StrContains(t, audit[1], "method=DELETE")
	must.StrContains(t, audit[2], "route=/api/v1/allocs/{allocId}/{taskName}/stop")
	must.StrContains(t, audit[3], "status=403")
	must.StrContains(t, audit[3], "path=secrets/x")
	must.StrContains(t, audit[0], `route=/api/v1/allocs/{allocId}/{taskName}/fs/{path}`)
}

func TestErrors_ClassifyKeepsMeaning(t *testing.T) {
	cases := []struct {
		err    error
		status int
	}{
		{&ps.Error{Kind: ps.KindNotFound, Message: "x"}, 404},
		{&ps.Error{Kind: ps.KindConflict, Message: "x"}, 409},
		{&ps.Error{Kind: ps.KindInvalidArgument, Message: "x"}, 400},
		{&ps.Error{Kind: ps.KindUnavailable, Message: "x"}, 503},
		{&ps.Error{Kind: ps.KindInternal, Message: "x"}, 500},
		{errors.New("boom /secret/host/path"), 500},
		{&http.MaxBytesError{Limit: 3}, 413},
	}
	for _, tc := range cases {
		ae := classify(tc.err)
		must.Eq(t, tc.status, ae.HTTPStatus, must.Sprint(tc.err))
		if tc.status == 500 {
			must.StrNotContains(t, ae.Message, "/secret/host/path")
		}
	}
}
