package client

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

// deployAnswer is the API's answer to a deploy, as docs/management-api.md shows it.
const deployAnswer = `{"application":"/shop","virtualDirectory":"/img","applicationPool":"nomad-9f2c-app",
"version":{"id":"v3","createdAt":"2026-12-03T10:20:11Z","bytes":48211,"files":12,"path":"local/.site.versions/v3"},
"previousVersion":"v2","mode":"Overlapped","warmupStatus":204,"keptVersions":["initial","v2","v3"],"removedVersions":["v1"]}`

// deployServer records the requests of the deploy routes; the first busy
// requests are answered 409 with Retry-After, the rest with deployAnswer.
func deployServer(t *testing.T, busy int) (*httptest.Server, func() []received, func() []string) {
	var mu sync.Mutex
	var got []received
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, received{r.Method, r.URL.RawQuery, r.Header.Get("Content-Type"), r.ContentLength, body, err})
		paths = append(paths, r.URL.EscapedPath())
		n := len(got)
		mu.Unlock()
		if n <= busy {
			problem(w, http.StatusConflict, "2", "another operation on this task is in progress (deploy to /)")
			return
		}
		_, _ = io.WriteString(w, deployAnswer)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received {
			mu.Lock()
			defer mu.Unlock()
			return append([]received(nil), got...)
		}, func() []string {
			mu.Lock()
			defer mu.Unlock()
			return append([]string(nil), paths...)
		}
}

func TestDeployFolderStreamsAZipWithItsOptions(t *testing.T) {
	t.Parallel()
	dir := writeTree(t)
	srv, got, paths := deployServer(t, 1)
	c, waits := newTestClient(t, srv, Config{})
	var last int64
	res, err := c.Deploy(context.Background(), task1, DirSource{Dir: dir}, DeployOptions{
		DeployTarget: DeployTarget{App: "shop", VDir: "img", Warmup: "/health?deep=1", WarmupTimeout: 90 * time.Second, AllowRestart: true},
		Progress:     func(done, _ int64) { last = done },
	})
	must.NoError(t, err)
	must.Eq(t, []time.Duration{2 * time.Second}, *waits)
	reqs := got()
	must.Len(t, 2, reqs)
	for i, r := range reqs {
		must.EqOp(t, http.MethodPut, r.method)
		must.EqOp(t, "/api/v1/allocs/"+task1.AllocID+"/app/deploy", paths()[i])
		must.EqOp(t, "application/zip", r.contentType)
		must.EqOp(t, int64(-1), r.contentLength) // zipped while it is sent
		q, err := url.ParseQuery(r.query)
		must.NoError(t, err)
		must.Eq(t, url.Values{"app": {"shop"}, "vdir": {"img"}, "warmup": {"/health?deep=1"}, "warmupTimeout": {"1m30s"}, "allowRestart": {"true"}}, q)
	}
	// The retry zipped the folder again.
	must.EqOp(t, "<h1>v2</h1>", zipNames(t, reqs[1].body)["index.html"])
	must.EqOp(t, int64(len(reqs[1].body)), last)

	want := DeployResult{Application: "/shop", VirtualDirectory: "/img", ApplicationPool: "nomad-9f2c-app",
		Version: DeployVersion{ID: "v3", CreatedAt: time.Date(2026, 12, 3, 10, 20, 11, 0, time.UTC), Bytes: 48211, Files: 12,
			Path: "local/.site.versions/v3"},
		PreviousVersion: "v2", Mode: "Overlapped", WarmupStatus: 204,
		KeptVersions: []string{"initial", "v2", "v3"}, RemovedVersions: []string{"v1"}}
	must.Eq(t, want, *res)
}

func TestDeployDefaultsSendNoQuery(t *testing.T) {
	t.Parallel()
	zipPath := filepath.Join(t.TempDir(), "app.zip")
	must.NoError(t, os.WriteFile(zipPath, []byte("PK\x05\x06"+string(make([]byte, 18))), 0o644))
	srv, got, _ := deployServer(t, 0)
	c, _ := newTestClient(t, srv, Config{})
	_, err := c.Deploy(context.Background(), task1, FileSource{Path: zipPath, Zip: true}, DeployOptions{})
	must.NoError(t, err)
	r := got()[0]
	must.EqOp(t, "", r.query)
	must.EqOp(t, int64(22), r.contentLength)
}

func TestDeployRefusesAFileThatIsNotAnArchive(t *testing.T) {
	t.Parallel()
	srv, got, _ := deployServer(t, 0)
	c, _ := newTestClient(t, srv, Config{})
	_, err := c.Deploy(context.Background(), task1, FileSource{Path: "deploy.go"}, DeployOptions{})
	must.ErrorContains(t, err, "deploy file deploy.go: a zero-downtime deploy takes a ZIP archive or a folder")
	must.Len(t, 0, got())
}

func TestRollback(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts RollbackOptions
		want url.Values
	}{
		{"newest earlier version", RollbackOptions{}, url.Values{}},
		{"named version of an app", RollbackOptions{Version: "initial", DeployTarget: DeployTarget{App: "shop", Warmup: "/", WarmupTimeout: time.Second}},
			url.Values{"version": {"initial"}, "app": {"shop"}, "warmup": {"/"}, "warmupTimeout": {"1s"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, got, paths := deployServer(t, 0)
			c, _ := newTestClient(t, srv, Config{})
			res, err := c.Rollback(context.Background(), task1, tc.opts)
			must.NoError(t, err)
			must.EqOp(t, "v3", res.Version.ID)
			r := got()[0]
			must.EqOp(t, http.MethodPut, r.method)
			must.EqOp(t, "/api/v1/allocs/"+task1.AllocID+"/app/deploy/rollback", paths()[0])
			must.EqOp(t, int64(0), r.contentLength)
			q, err := url.ParseQuery(r.query)
			must.NoError(t, err)
			must.Eq(t, tc.want, q)
		})
	}
}

func TestRollbackProblem(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		problem(w, http.StatusConflict, "", `application "/" has no earlier version to roll back to (kept: initial)`)
	}))
	defer srv.Close()
	c, waits := newTestClient(t, srv, Config{})
	_, err := c.Rollback(context.Background(), task1, RollbackOptions{})
	must.True(t, IsStatus(err, http.StatusConflict))
	must.ErrorContains(t, err, "no earlier version to roll back to")
	must.Len(t, 0, *waits) // no Retry-After: not retried
}
