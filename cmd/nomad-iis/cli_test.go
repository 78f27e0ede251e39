package main

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/api/client"
)

func siteDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	must.NoError(t, os.MkdirAll(filepath.Join(dir, "css"), 0o755))
	must.NoError(t, os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>v2</h1>"), 0o644))
	must.NoError(t, os.WriteFile(filepath.Join(dir, "css", "site.css"), []byte("body{}"), 0o644))
	return dir
}

func TestDeployByJobToEveryAllocation(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	dir := siteDir(t)
	r := runCLI(t, c.env(), "deploy", "--job", "shop", "--clean", dir)
	must.EqOp(t, exitOK, r.code)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	slices.Sort(lines) // in the order the allocations finished
	must.Len(t, 2, lines)
	must.EqOp(t, "aaaa1111 node1 web: deployed 3 files (2.0 KiB) to local, pools running again: default (pid 4244)", lines[0])
	must.EqOp(t, "bbbb2222 node2 web: deployed 3 files (2.0 KiB) to local, pools running again: default (pid 4244)", lines[1])
	for _, api := range []*fakeAPI{c.api1, c.api2} {
		seen := api.seen()
		must.StrHasPrefix(t, "PUT /api/v1/allocs/", seen[0])
		must.StrContains(t, seen[0], "/web/fs/local?clean=true secret-key-1")
		// The pools were polled until they ran again.
		must.Len(t, 3, seen)
		api.mu.Lock()
		names := zipEntries(t, api.bodies[0])
		api.mu.Unlock()
		must.Eq(t, []string{"css/", "css/site.css", "index.html"}, names)
	}
	// Progress on a non-terminal: plain lines, no bar, no carriage return.
	must.StrContains(t, r.stderr, "aaaa1111 node1 web: upload ")
	must.StrContains(t, r.stderr, "bbbb2222 node2 web: upload ")
	must.StrNotContains(t, r.stderr, "\r")
	must.StrNotContains(t, r.stderr, "\x1b")
	must.StrNotContains(t, r.stdout+r.stderr, "secret-key-1")
}

func zipEntries(t *testing.T, b []byte) []string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	must.NoError(t, err)
	var out []string
	for _, f := range zr.File {
		out = append(out, f.Name)
	}
	slices.Sort(out)
	return out
}

func TestDeployHotZipAndWaitHTTP(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	// The site on node1 answers 503 twice, then 200; Host is the binding's.
	var hits atomic.Int32
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" || hits.Add(1) <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer site.Close()
	port, _ := strconv.Atoi(site.URL[strings.LastIndexByte(site.URL, ':')+1:])
	c.nomad.mu.Lock()
	c.nomad.allocs[0].AllocatedResources.Shared.Ports[0].Value = port
	c.nomad.mu.Unlock()

	zipPath := filepath.Join(t.TempDir(), "app.ZIP")
	must.NoError(t, os.WriteFile(zipPath, []byte("PK\x05\x06"+strings.Repeat("\x00", 18)), 0o644))
	r := runCLI(t, c.env(), "deploy", "--alloc", "aaaa", "--hot", "--path", "local/app", "--wait-http", "/health", zipPath)
	must.EqOp(t, exitOK, r.code)
	must.EqOp(t, "aaaa1111 node1 web: deployed 3 files (2.0 KiB) to local/app, hot, GET /health answered 204\n", r.stdout)
	seen := c.api1.seen()
	must.Len(t, 1, seen) // PATCH stops nothing: no wait for pools
	must.StrHasPrefix(t, "PATCH /api/v1/allocs/"+alloc1+"/web/fs/local/app? ", seen[0])
	must.EqOp(t, int32(3), hits.Load())
	must.Len(t, 0, c.api2.seen())
}

func TestOneAllocationFails(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.api2.handle = func(w http.ResponseWriter, r *http.Request) bool {
		writeProblem(w, http.StatusForbidden, "", "the token lacks the capability FilesystemWrite (or FilesystemAccess)")
		return true
	}
	r := runCLI(t, c.env(), "deploy", "--job", "shop", siteDir(t))
	must.EqOp(t, exitFailure, r.code)
	must.StrContains(t, r.stdout, "aaaa1111 node1 web: deployed")
	must.StrNotContains(t, r.stdout, "bbbb2222")
	must.StrContains(t, r.stderr, "bbbb2222 node2 web: error: PUT /api/v1/allocs/"+alloc2+"/web/fs/local: 403 Forbidden: the token lacks the capability FilesystemWrite (or FilesystemAccess)\n")
	must.StrContains(t, r.stderr, "nomad-iis: 1 of 2 allocations failed\n")
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	busy := newFakeAPI(t)
	busy.handle = func(w http.ResponseWriter, r *http.Request) bool {
		writeProblem(w, http.StatusConflict, "0", "another operation on this task is in progress (upload to local); retry when it has finished")
		return true
	}
	gone := newFakeAPI(t)
	gone.handle = func(w http.ResponseWriter, r *http.Request) bool {
		writeProblem(w, http.StatusNotFound, "", "no application pool api; the task's pools: default")
		return true
	}
	for _, tc := range []struct {
		name   string
		env    map[string]string
		args   []string
		code   int
		stderr string
	}{
		{"no target", c.env(), []string{"status"}, exitUsage, "nomad-iis: say which allocations: --job NAME [--group G] [--task T], or --alloc ID\n"},
		{"unknown flag", c.env(), []string{"status", "--jbo", "shop"}, exitUsage, "nomad-iis: unknown flag: --jbo\n"},
		{"missing argument", c.env(), []string{"deploy", "--job", "shop"}, exitUsage, "nomad-iis: accepts 1 arg(s), received 0\n"},
		{"not a folder or zip", c.env(), []string{"deploy", "--job", "shop", "fakes_test.go"}, exitUsage, "nomad-iis: deploy: fakes_test.go is neither a folder nor a .zip archive\n"},
		{"both credentials", c.env(envToken, "a.b.c"), []string{"status", "--job", "shop"}, exitUsage,
			"nomad-iis: both an API key (--api-key or NOMAD_IIS_API_KEY) and a token (--token or NOMAD_IIS_TOKEN) are set; use one\n"},
		{"no such job", c.env(), []string{"status", "--job", "nope"}, exitNotFound, "nomad-iis: no job nope in namespace default\n"},
		{"no such group", c.env(), []string{"status", "--job", "shop", "--group", "db"}, exitNotFound, "nomad-iis: job shop has no group db (groups: app)\n"},
		{"not an iis task", c.env(), []string{"status", "--job", "shop", "--task", "logs"}, exitNotFound, "has no iis task logs (iis tasks: web)"},
		{"no such alloc", c.env(), []string{"status", "--alloc", "cccc"}, exitNotFound, "nomad-iis: no allocation cccc in namespace default\n"},
		{"ambiguous prefix", c.env(), []string{"status", "--alloc", ""}, exitUsage, "say which allocations"},
		{"busy after retries", c.env(), []string{"recycle", "--alloc", alloc1, "--task", "web", "--api-addr", busy.srv.URL, "--retries", "2"}, exitBusy,
			"aaaa1111 web: error: PUT /api/v1/allocs/" + alloc1 + "/web/recycle: 409 Conflict: another operation on this task is in progress (upload to local); retry when it has finished (after 3 attempts)\n"},
		{"API 404", c.env(), []string{"stop", "--pool", "api", "--alloc", alloc1, "--task", "web", "--api-addr", gone.srv.URL}, exitNotFound,
			"404 Not Found: no application pool api; the task's pools: default\n"},
		{"api-addr without task", c.env(), []string{"status", "--alloc", alloc1, "--api-addr", gone.srv.URL}, exitUsage, "--api-addr needs --alloc"},
		{"bad NOMAD_SKIP_VERIFY", c.env("NOMAD_SKIP_VERIFY", "maybe"), []string{"status", "--job", "shop"}, exitUsage, `NOMAD_SKIP_VERIFY: "maybe" is not true or false`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, tc.env, tc.args...)
			must.EqOp(t, tc.code, r.code)
			must.StrContains(t, r.stderr, tc.stderr)
			// The error is one line (beside the notes of retries).
			errLines := 0
			for _, l := range strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n") {
				if strings.HasPrefix(l, "nomad-iis: ") || strings.Contains(l, " error: ") {
					errLines++
				}
			}
			must.EqOp(t, 1, errLines, must.Sprint(r.stderr))
		})
	}
}

func TestBusyRetriesAreReported(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	api := newFakeAPI(t)
	api.handle = func(w http.ResponseWriter, r *http.Request) bool {
		if calls.Add(1) == 1 {
			writeProblem(w, http.StatusServiceUnavailable, "0", "the IIS backend is unavailable or restarting")
			return true
		}
		return false
	}
	r := runCLI(t, map[string]string{}, "recycle", "--alloc", alloc1, "--task", "web", "--api-addr", api.srv.URL)
	must.EqOp(t, exitOK, r.code)
	must.EqOp(t, "aaaa1111 web: recycle: default Started\n", r.stdout)
	must.EqOp(t, "aaaa1111 web: busy (503 the IIS backend is unavailable or restarting); retrying in 0s\n", r.stderr)
}

func TestNodeWithoutAPI(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	c.nomad.addNode(t, "n2", "node2", "")
	r := runCLI(t, c.env(), "recycle", "--job", "shop")
	must.EqOp(t, exitFailure, r.code)
	must.StrContains(t, r.stdout, "aaaa1111 node1 web: recycle: default Started")
	must.StrContains(t, r.stderr, `bbbb2222 node2 web: error: node node2 has no Management API (driver.iis.management_api_port is "0"): start its nomad_iis plugin with --management-api-port`)
}

func TestNamespaceRegionAndSingleDashFlags(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	r := runCLI(t, c.env("NOMAD_REGION", "eu", "NOMAD_TOKEN", "nomad-secret"), "status", "-namespace=shop-ns", "-job", "shop", "--json")
	must.EqOp(t, exitOK, r.code)
	for _, q := range c.nomad.seen() {
		must.StrContains(t, q, "namespace=shop-ns")
		must.StrContains(t, q, "region=eu")
	}
	must.StrNotContains(t, r.stdout+r.stderr, "nomad-secret")
}

func TestStatus(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	r := runCLI(t, c.env(), "status", "--job", "shop", "--json")
	must.EqOp(t, exitOK, r.code)
	var got []struct {
		AllocID  string         `json:"allocId"`
		Node     string         `json:"node"`
		TaskName string         `json:"taskName"`
		Status   *client.Status `json:"status"`
	}
	must.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
	must.Len(t, 2, got)
	must.EqOp(t, alloc1, got[0].AllocID)
	must.EqOp(t, "node1", got[0].Node)
	must.EqOp(t, "node2", got[1].Node)
	must.EqOp(t, "web", got[1].TaskName)
	must.EqOp(t, "Starting", got[1].Status.ApplicationPools[0].Status)

	// The table: one row per worker process; the first call of each API
	// answers Starting without workers.
	r = runCLI(t, c.env(), "status", "--job", "shop")
	must.EqOp(t, exitOK, r.code)
	for _, want := range []string{"ALLOC", "NODE", "PID", "aaaa1111", "node2", "Started", "4244", "50.0 MiB", "0.5"} {
		must.StrContains(t, r.stdout, want)
	}
}

func TestDownload(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	dir := t.TempDir()
	r := runCLI(t, c.env(), "download", "--job", "shop", "-o", filepath.Join(dir, "index.html"), "local/index.html")
	must.EqOp(t, exitOK, r.code)
	b1, err := os.ReadFile(filepath.Join(dir, "index_aaaa1111.html"))
	must.NoError(t, err)
	must.EqOp(t, "hello aaaa1", string(b1))
	b2, err := os.ReadFile(filepath.Join(dir, "index_bbbb2222.html"))
	must.NoError(t, err)
	must.EqOp(t, "hello bbbb2", string(b2))

	// An interrupted download leaves no file.
	c.api1.handle = func(w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Content-Length", "1000")
		_, _ = w.Write([]byte("partial"))
		return true
	}
	out := filepath.Join(dir, "site.zip")
	r = runCLI(t, c.env(), "download", "--alloc", alloc1, "-o", out, "local")
	must.EqOp(t, exitFailure, r.code)
	must.StrContains(t, r.stderr, "transfer interrupted after 7 of 1000 bytes")
	entries, err := os.ReadDir(dir)
	must.NoError(t, err)
	must.Len(t, 2, entries, must.Sprint(entries))
}

func TestToken(t *testing.T) {
	t.Parallel()
	secret := "0123456789abcdef0123456789abcdef-cli"
	env := map[string]string{envJWTSecret: secret, "NOMAD_NAMESPACE": "prod"}
	r := runCLI(t, env, "token", "--job", "shop", "--capability", "Status,FilesystemWrite", "--subject", "ci", "--ttl", "15m")
	must.EqOp(t, exitOK, r.code)
	must.StrNotContains(t, r.stdout+r.stderr, secret)
	claims := jwt.MapClaims{}
	_, err := jwt.NewParser(jwt.WithValidMethods([]string{"HS256"}), jwt.WithIssuer("NomadIIS"), jwt.WithAudience("ManagementApi")).
		ParseWithClaims(strings.TrimSpace(r.stdout), claims, func(*jwt.Token) (any, error) { return []byte(secret), nil })
	must.NoError(t, err)
	must.EqOp(t, "prod", claims["namespace"])
	must.EqOp(t, "shop", claims["jobName"])
	must.EqOp(t, "*", claims["allocId"])
	must.EqOp(t, "ci", claims["sub"])
	must.Eq[any](t, []any{"Status", "FilesystemWrite"}, claims["capabilities"])
	exp, _ := claims.GetExpirationTime()
	must.Between(t, time.Now().Add(14*time.Minute).Unix(), exp.Unix(), time.Now().Add(16*time.Minute).Unix())

	secretFile := filepath.Join(t.TempDir(), "secret")
	must.NoError(t, os.WriteFile(secretFile, []byte(secret+"\n"), 0o600))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"token", "--job", "shop"}, "capabilities: empty"},
		{[]string{"token", "--capability", "Status"}, "job: empty"},
		{[]string{"token", "--job", "shop", "--capability", "Deploy"}, `capabilities: "Deploy" is not one of`},
		{[]string{"token", "--job", "shop", "--capability", "Status", "--ttl", "-1h"}, "ttl: -1h0m0s is not positive"},
	} {
		r := runCLI(t, map[string]string{}, append(tc.args, "--secret-file", secretFile)...)
		must.EqOp(t, exitUsage, r.code)
		must.StrContains(t, r.stderr, tc.want)
		must.StrNotContains(t, r.stdout+r.stderr, secret)
	}
	r = runCLI(t, map[string]string{envJWTSecret: "short"}, "token", "--job", "shop", "--capability", "Status")
	must.EqOp(t, exitUsage, r.code)
	must.StrContains(t, r.stderr, "secret: 5 bytes; the API accepts secrets of at least 32 bytes")
}

func TestTokenIsSentAsBearer(t *testing.T) {
	t.Parallel()
	c := newCluster(t)
	r := runCLI(t, map[string]string{"NOMAD_ADDR": c.nomad.srv.URL, envToken: "h.p.s"}, "recycle", "--alloc", "bbbb", "--pool", "default")
	must.EqOp(t, exitOK, r.code)
	must.Eq(t, []string{"PUT /api/v1/allocs/" + alloc2 + "/web/recycle?appPoolName=default Bearer h.p.s"}, c.api2.seen())
}
