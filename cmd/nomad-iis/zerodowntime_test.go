package main

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/api/client"
)

func TestDeployZeroDowntimeByJob(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	dir := siteDir(t)
	r := runCLI(t, c.env(), "deploy", "--zero-downtime", "--job", "shop", "--app", "shop", "--warmup", "/health",
		"--warmup-timeout", "45s", "--allow-restart", dir)
	must.EqOp(t, exitOK, r.code)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	slices.Sort(lines)
	must.Eq(t, []string{
		"aaaa1111 node1 web: deployed version v2 (3 files, 2.0 KiB) to /shop (Overlapped, warm-up 200), previous v1, kept initial v1 v2, removed v0",
		"bbbb2222 node2 web: deployed version v2 (3 files, 2.0 KiB) to /shop (Overlapped, warm-up 200), previous v1, kept initial v1 v2, removed v0",
	}, lines)
	for i, api := range []*fakeAPI{c.api1, c.api2} {
		// One request: an overlapped switch stops no pool, nothing to wait for.
		must.Eq(t, []string{"PUT /api/v1/allocs/" + []string{alloc1, alloc2}[i] +
			"/web/deploy?allowRestart=true&app=shop&warmup=%2Fhealth&warmupTimeout=45s secret-key-1"}, api.seen())
		api.mu.Lock()
		names := zipEntries(t, api.bodies[0])
		api.mu.Unlock()
		must.Eq(t, []string{"css/", "css/site.css", "index.html"}, names)
	}
	must.StrContains(t, r.stderr, "aaaa1111 node1 web: upload ")
}

func TestDeployZeroDowntimeDefaultsAndFailures(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.api2.handle = func(w http.ResponseWriter, r *http.Request) bool {
		writeProblem(w, http.StatusUnprocessableEntity, "",
			"the new version failed its warm-up; the previous version still serves: GET /health did not answer 2xx or 3xx within 30s")
		return true
	}
	r := runCLI(t, c.env(), "deploy", "--zero-downtime", "--job", "shop", siteDir(t))
	must.EqOp(t, exitFailure, r.code)
	must.EqOp(t, "aaaa1111 node1 web: deployed version v2 (3 files, 2.0 KiB) to / (Overlapped), previous v1, kept initial v1 v2, removed v0\n", r.stdout)
	must.Eq(t, []string{"PUT /api/v1/allocs/" + alloc1 + "/web/deploy? secret-key-1"}, c.api1.seen())
	must.StrContains(t, r.stderr, "bbbb2222 node2 web: error: PUT /api/v1/allocs/"+alloc2+"/web/deploy: 422 Unprocessable Entity: "+
		"the new version failed its warm-up; the previous version still serves: GET /health did not answer 2xx or 3xx within 30s\n")
	must.StrContains(t, r.stderr, "nomad-iis: 1 of 2 allocations failed\n")
}

func TestZeroDowntimeFlagsThatDoNotCombine(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	dir := siteDir(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"hot and clean", []string{"deploy", "--zero-downtime", "--hot", "--clean", dir},
			"nomad-iis: --zero-downtime does not combine with --hot, --clean: it always deploys the whole archive into a new version folder"},
		{"path and waits", []string{"deploy", "--zero-downtime", "--path", "local/app", "--no-wait", "--wait-timeout", "1m", dir},
			"nomad-iis: --zero-downtime does not combine with --path, --no-wait, --wait-timeout:"},
		{"switch flags without it", []string{"deploy", "--app", "shop", "--allow-restart", dir},
			"nomad-iis: --app, --allow-restart only apply to --zero-downtime\n"},
		{"warm-up not a path", []string{"deploy", "--zero-downtime", "--warmup", "health", dir}, `nomad-iis: --warmup: "health" must start with /`},
		{"warm-up timeout alone", []string{"rollback", "--warmup-timeout", "5s"}, "nomad-iis: --warmup-timeout needs --warmup PATH\n"},
		{"warm-up timeout too long", []string{"rollback", "--warmup", "/", "--warmup-timeout", "11m"},
			"nomad-iis: --warmup-timeout: 11m0s is not between 1ms and 10m0s\n"},
		{"rollback takes no argument", []string{"rollback", "v1"}, "nomad-iis: unknown command \"v1\" for \"nomad-iis rollback\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, c.env(), append(tc.args, "--job", "shop")...)
			must.EqOp(t, exitUsage, r.code)
			must.StrContains(t, r.stderr, tc.want)
			must.EqOp(t, "", r.stdout)
		})
	}
	must.Len(t, 0, c.api1.seen(), must.Sprint("a refused command line calls no API"))
	must.Len(t, 0, c.api2.seen())
}

func TestRollback(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	r := runCLI(t, c.env(), "rollback", "--job", "shop", "--version", "initial", "--app", "shop", "--vdir", "img")
	must.EqOp(t, exitOK, r.code)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	slices.Sort(lines)
	must.Eq(t, []string{
		"aaaa1111 node1 web: rolled back to version initial at /shop (Overlapped), previous v2, kept initial v1 v2",
		"bbbb2222 node2 web: rolled back to version initial at /shop (Overlapped), previous v2, kept initial v1 v2",
	}, lines)
	must.Eq(t, []string{"PUT /api/v1/allocs/" + alloc1 + "/web/deploy/rollback?app=shop&vdir=img&version=initial secret-key-1"}, c.api1.seen())

	// The API's answers keep their exit codes: no such version is 3, no
	// earlier version (409 without Retry-After) is 1.
	for _, tc := range []struct {
		status int
		detail string
		code   int
	}{
		{http.StatusNotFound, `query parameter version="v9": no such version is kept; kept: initial, v1, v2`, exitNotFound},
		{http.StatusConflict, `application "/" has no earlier version to roll back to (kept: initial)`, exitFailure},
	} {
		api := newFakeAPI(t)
		api.handle = func(w http.ResponseWriter, r *http.Request) bool {
			writeProblem(w, tc.status, "", tc.detail)
			return true
		}
		r := runCLI(t, c.env(), "rollback", "--alloc", alloc1, "--task", "web", "--api-addr", api.srv.URL, "--version", "v9")
		must.EqOp(t, tc.code, r.code)
		must.StrContains(t, r.stderr, "aaaa1111 web: error: PUT /api/v1/allocs/"+alloc1+"/web/deploy/rollback: ")
		must.StrContains(t, r.stderr, tc.detail+"\n")
		must.Len(t, 1, api.seen())
	}
}

func TestStatusShowsTheCurrentVersions(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.api1.handle = func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, "/status") {
			return false
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"allocId": alloc1, "taskName": "web", "applicationPools": []any{
			map[string]any{"name": "default", "status": "Started", "workerProcesses": []any{map[string]any{"processId": 77}}}},
			"deployments": []any{map[string]any{"application": "/shop", "virtualDirectory": "/", "current": map[string]any{
				"id": "v3", "createdAt": "2026-12-03T10:20:11Z", "bytes": 48211, "files": 12, "path": "local/.shop.versions/v3"},
				"kept": []any{map[string]any{"id": "initial", "createdAt": "2026-12-03T09:00:00Z", "path": "local/shop"},
					map[string]any{"id": "v2", "createdAt": "2026-12-03T10:00:00Z", "bytes": 48000, "files": 12, "path": "local/.shop.versions/v2"}}}}})
		return true
	}
	r := runCLI(t, c.env(), "status", "--job", "shop")
	must.EqOp(t, exitOK, r.code)
	pools, deps, found := strings.Cut(r.stdout, "APPLICATION")
	must.True(t, found, must.Sprint("a table of the deployments"))
	must.StrContains(t, pools, "77")
	for _, want := range []string{"VERSION", "KEPT", "aaaa1111", "node1", "/shop", "v3", "2026-12-03 10:20:11Z", "47.1 KiB", "initial v2"} {
		must.StrContains(t, deps, want)
	}
	must.StrNotContains(t, deps, "bbbb2222", must.Sprint("node2 has no deployment"))

	// Without any deployment there is no second table.
	c2 := newCluster(t)
	r = runCLI(t, c2.env(), "status", "--job", "shop")
	must.EqOp(t, exitOK, r.code)
	must.StrNotContains(t, r.stdout, "APPLICATION")

	r = runCLI(t, c.env(), "status", "--alloc", alloc1, "--json")
	must.EqOp(t, exitOK, r.code)
	var got []struct {
		Status *client.Status `json:"status"`
	}
	must.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
	must.Len(t, 1, got)
	must.Len(t, 1, got[0].Status.Deployments)
	d := got[0].Status.Deployments[0]
	must.EqOp(t, "v3", d.Current.ID)
	must.EqOp(t, int64(48211), d.Current.Bytes)
	must.EqOp(t, "v2", d.Kept[1].ID)
}
