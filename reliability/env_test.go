package reliability

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/api"
	"github.com/nomad-iis/nomad-iis/iissim/simtest"
	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/nomad-iis/nomad-iis/ps"
)

// apiKey is the key of the scenarios' Management API.
const apiKey = "reliability-key"

// newTaskDir makes a task directory under parent with local/, secrets/ and
// tmp/, and the files (relative to local/) given.
func newTaskDir(t testing.TB, parent, name string, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(parent, name)
	for _, d := range []string{"local", "secrets", "private", "tmp"} {
		must.NoError(t, os.MkdirAll(filepath.Join(dir, d), 0o755))
	}
	must.NoError(t, os.WriteFile(filepath.Join(dir, "secrets", "token"), []byte("SECRET"), 0o600))
	for p, body := range files {
		full := filepath.Join(dir, "local", filepath.FromSlash(p))
		must.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		must.NoError(t, os.WriteFile(full, []byte(body), 0o644))
	}
	return dir
}

// taskFor describes a task whose directory is dir, with one pool.
func taskFor(i int, dir string) api.Task {
	alloc := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	name := "nomad-" + alloc + "-web"
	return api.Task{
		TaskID: alloc + "/web", AllocID: alloc, TaskName: "web", TaskGroup: "web",
		Namespace: "default", JobID: "site", JobName: "site", TaskDir: dir,
		SiteName: name, OwnsSite: true, AppPools: map[string]string{"default": name},
		DefaultAppPool: "default", StartedAt: time.Now(),
	}
}

// createSite makes the task's site and pool in iissim, serving local/ on a
// free loopback port, and returns the port.
func createSite(t testing.TB, iis *ps.IIS, task api.Task) int {
	t.Helper()
	port := testkit.FreePort(t)
	pool := task.AppPools["default"]
	spec := &ps.TaskSiteSpec{
		SiteName:       task.SiteName,
		DefaultAppPool: pool,
		AppPools:       []ps.AppPoolSpec{{Name: pool, StartMode: "AlwaysRunning"}},
		Applications:   []ps.ApplicationSpec{{Alias: "", PhysicalPath: filepath.Join(task.TaskDir, "local"), AppPool: pool}},
		Bindings:       []ps.BindingSpec{{Protocol: "http", IPAddress: "127.0.0.1", Port: port}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := iis.NewTaskSite(ctx, spec)
	must.NoError(t, err)
	return port
}

// startAPI serves the Management API over reg on a loopback port until the
// test ends and returns its base URL.
func startAPI(t testing.TB, reg api.Registry, iis api.IIS, mutate ...func(*api.Config)) string {
	t.Helper()
	cfg := api.Config{APIKeys: []string{apiKey}, MaxZipStreams: 64, PoolStopTimeout: 20 * time.Second}
	for _, m := range mutate {
		m(&cfg)
	}
	srv, err := api.New(cfg, reg, iis, hclog.NewNullLogger())
	must.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ctx, ln)
	}()
	t.Cleanup(func() {
		cancel()
		_ = srv.Close()
		<-done
	})
	return "http://" + ln.Addr().String()
}

// simIIS starts iissim for the test.
func simIIS(t testing.TB) *simtest.Sim { return simtest.Start(t) }

// taskURL is the URL of a task route.
func taskURL(base string, task api.Task, suffix string) string {
	return base + "/api/v1/allocs/" + task.AllocID + "/" + task.TaskName + suffix
}

// do sends one request with the API key.
func do(ctx context.Context, c *http.Client, method, url, contentType string, body io.Reader) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("X-Api-Key", apiKey)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// readZip returns the files (not folders) of an archive.
func readZip(b []byte) (map[string]string, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name, err)
		}
		out[f.Name] = string(data)
	}
	return out, nil
}

// readTree returns the files below dir, relative, with their content.
func readTree(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	must.NoError(t, err)
	return out
}

// reservedEntries lists the API's staging entries anywhere below dir.
func reservedEntries(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(strings.ToLower(d.Name()), ".nomad-iis") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// figure logs a figure line for the report.
func figure(t testing.TB, format string, args ...any) {
	t.Helper()
	t.Logf("FIGURE "+format, args...)
}
