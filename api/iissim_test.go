package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/iissim/simtest"
	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/nomad-iis/nomad-iis/ps"
)

// Environment variables the iissim tests read (the Makefile sets both).
const (
	// envTestDriver is the Playwright driver directory (node + package).
	envTestDriver = "NOMAD_IIS_PLAYWRIGHT_DRIVER"
	// envTestBrowser is the Chromium executable.
	envTestBrowser = "NOMAD_IIS_BROWSER"
)

// simEnv is the API in front of a real iissim with one task site.
type simEnv struct {
	t    *testing.T
	sim  *simtest.Sim
	srv  *Server
	reg  *testkit.Registry
	task Task
	port int
	// addr is where the API listens.
	addr string
}

// newSimEnv starts iissim with a site serving the task's local/ folder
// through an AlwaysRunning pool (so that it has a worker from the start).
func newSimEnv(t *testing.T, hostname string, mutate ...func(*Config)) *simEnv {
	t.Helper()
	return newSimEnvWith(t, hostname, nil, mutate...)
}

// newSimEnvWith is newSimEnv with the task site's spec changed by tune
// (when not nil) before it is created.
func newSimEnvWith(t *testing.T, hostname string, tune func(*ps.TaskSiteSpec), mutate ...func(*Config)) *simEnv {
	t.Helper()
	sim := simtest.Start(t)
	taskDir := filepath.Join(t.TempDir(), "app")
	must.NoError(t, os.MkdirAll(filepath.Join(taskDir, "local"), 0o755))
	must.NoError(t, os.MkdirAll(filepath.Join(taskDir, "secrets"), 0o755))
	page := `<!DOCTYPE html><html><head><style>html,body{margin:0;background:#ff0000}</style></head><body><h1>v1</h1></body></html>`
	must.NoError(t, os.WriteFile(filepath.Join(taskDir, "local", "index.html"), []byte(page), 0o644))
	port := testkit.FreePort(t)
	suffix := strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	pool, site := "nomad-apitest-"+suffix, "nomad-apitest-"+suffix
	spec := &ps.TaskSiteSpec{
		SiteName:     site,
		AppPools:     []ps.AppPoolSpec{{Name: pool, Identity: "ApplicationPoolIdentity", StartMode: "AlwaysRunning"}},
		Applications: []ps.ApplicationSpec{{Alias: "", PhysicalPath: filepath.Join(taskDir, "local"), AppPool: pool}},
		Bindings:     []ps.BindingSpec{{Protocol: "http", IPAddress: "*", Port: port, Hostname: hostname}},
	}
	if tune != nil {
		tune(spec)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := sim.IIS.NewTaskSite(ctx, spec)
	must.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = sim.IIS.RemoveTaskSite(ctx, &ps.RemoveTaskSiteArgs{SiteName: site, AppPools: []string{pool}})
	})
	task := Task{TaskID: testAlloc + "/app", AllocID: testAlloc, TaskName: "app", Namespace: "default", JobName: "job",
		TaskDir: taskDir, SiteName: site, OwnsSite: true, AppPools: map[string]string{"default": pool},
		DefaultAppPool: "default", Bindings: spec.Bindings}
	reg := testkit.NewRegistry(task)
	cfg := Config{APIKeys: []string{testKey}, PlaywrightDriverDir: playwrightDriverDir(t), ScreenshotBrowserPath: os.Getenv(envTestBrowser),
		DumpDir: t.TempDir(), StatusCacheTTL: time.Millisecond, PoolStopTimeout: 30 * time.Second}
	for _, m := range mutate {
		m(&cfg)
	}
	srv, err := New(cfg, reg, sim.IIS, hclog.New(&hclog.LoggerOptions{Level: hclog.Warn, Output: io.Discard}))
	must.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(context.Background(), ln) }()
	t.Cleanup(func() {
		_ = srv.Close()
		must.NoError(t, <-done)
	})
	return &simEnv{t: t, sim: sim, srv: srv, reg: reg, task: task, port: port, addr: ln.Addr().String()}
}

// playwrightDriverDir is NOMAD_IIS_PLAYWRIGHT_DRIVER, or the repository's
// .cache/playwright that `make deps` fills.
func playwrightDriverDir(t *testing.T) string {
	if d := os.Getenv(envTestDriver); d != "" {
		return d
	}
	d, err := filepath.Abs(filepath.Join("..", ".cache", "playwright"))
	must.NoError(t, err)
	return d
}

// stream sends a request to the API over HTTP; the caller closes the body.
func (s *simEnv) stream(method, url string, body io.Reader, header ...string) *http.Response {
	s.t.Helper()
	req, err := http.NewRequest(method, "http://"+s.addr+url, body)
	must.NoError(s.t, err)
	req.Header.Set("X-Api-Key", testKey)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	must.NoError(s.t, err)
	return resp
}

// do sends a request to the API and reads the whole answer.
func (s *simEnv) do(method, url string, body io.Reader, header ...string) (*http.Response, []byte) {
	s.t.Helper()
	resp := s.stream(method, url, body, header...)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must.NoError(s.t, err)
	return resp, b
}

func (s *simEnv) status() statusResponse {
	s.t.Helper()
	resp, body := s.do("GET", taskURL("/status"), nil)
	must.Eq(s.t, 200, resp.StatusCode, must.Sprint(string(body)))
	var st statusResponse
	must.NoError(s.t, json.Unmarshal(body, &st))
	return st
}

// site fetches a page of the task's site (through iissim's listener).
func (s *simEnv) site(path string) (int, string) {
	s.t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", s.port, path))
	must.NoError(s.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must.NoError(s.t, err)
	return resp.StatusCode, string(b)
}

func TestIISSim_StatusLifecycleAndDeploy(t *testing.T) {
	s := newSimEnv(t, "")
	var st statusResponse
	testkit.Eventually(t, "a worker process", func() bool {
		st = s.status()
		return st.DefaultApplicationPool != nil && len(st.DefaultApplicationPool.WorkerProcesses) > 0
	})
	must.Eq(t, "Started", st.DefaultApplicationPool.Status)
	must.True(t, st.DefaultApplicationPool.IsWorkerProcessRunning)
	wp := st.DefaultApplicationPool.WorkerProcesses[0]
	must.Positive(t, wp.ProcessID)
	must.NotNil(t, wp.MemoryBytes, must.Sprint("the worker's memory is measured"))
	must.Positive(t, *wp.MemoryBytes)
	must.False(t, wp.StartTime.IsZero())
	code, body := s.site("/")
	must.Eq(t, 200, code)
	must.StrContains(t, body, "v1")

	// PUT a new release: the pool is stopped for the swap and started again.
	archive := testkit.MakeZip(testkit.ZipEntry{Name: "index.html", Body: "<h1>v2</h1>"}, testkit.ZipEntry{Name: "css/site.css", Body: "h1{}"})
	resp, out := s.do("PUT", taskURL("/fs/local?clean=true"), bytes.NewReader(archive), "Content-Type", "application/zip")
	must.Eq(t, 200, resp.StatusCode, must.Sprint(string(out)))
	must.StrContains(t, string(out), `"stoppedApplicationPools":["default"]`)
	after := s.status()
	must.Eq(t, "Started", after.DefaultApplicationPool.Status)
	testkit.Eventually(t, "the site to serve v2", func() bool { _, b := s.site("/"); return strings.Contains(b, "v2") })
	testkit.Eventually(t, "a new worker", func() bool {
		st := s.status()
		return len(st.DefaultApplicationPool.WorkerProcesses) > 0 && st.DefaultApplicationPool.WorkerProcesses[0].ProcessID != wp.ProcessID
	})
	events := strings.Join(s.reg.Events(), "\n")
	must.StrContains(t, events, "ApplicationPool default stopped")
	must.StrContains(t, events, "ApplicationPool default started")

	// Stop, start, recycle.
	resp, out = s.do("PUT", taskURL("/stop"), nil)
	must.Eq(t, 200, resp.StatusCode, must.Sprint(string(out)))
	st = s.status()
	must.Eq(t, "Stopped", st.DefaultApplicationPool.Status)
	must.SliceEmpty(t, st.DefaultApplicationPool.WorkerProcesses, must.Sprint("stop waits for the workers to exit"))
	code, _ = s.site("/")
	must.Eq(t, 503, code)

	// A PUT while the pool is stopped leaves it stopped.
	resp, out = s.do("PUT", taskURL("/fs/local%2Fnote.txt"), strings.NewReader("n"), "Content-Type", "text/plain")
	must.Eq(t, 200, resp.StatusCode, must.Sprint(string(out)))
	must.StrContains(t, string(out), `"stoppedApplicationPools":[]`)
	must.Eq(t, "Stopped", s.status().DefaultApplicationPool.Status)

	resp, _ = s.do("PUT", taskURL("/start"), nil)
	must.Eq(t, 200, resp.StatusCode)
	testkit.Eventually(t, "a worker after start", func() bool { return len(s.status().DefaultApplicationPool.WorkerProcesses) > 0 })
	before := s.status().DefaultApplicationPool.WorkerProcesses[0].ProcessID
	resp, _ = s.do("PUT", taskURL("/recycle"), nil)
	must.Eq(t, 200, resp.StatusCode)
	testkit.Eventually(t, "a recycled worker", func() bool {
		w := s.status().DefaultApplicationPool.WorkerProcesses
		return len(w) == 1 && w[0].ProcessID != before
	})
}

func TestIISSim_Screenshot(t *testing.T) {
	for _, hostname := range []string{"", "app.example.test"} {
		t.Run("hostname="+hostname, func(t *testing.T) {
			s := newSimEnv(t, hostname)
			resp, body := s.do("GET", taskURL("/screenshot"), nil)
			if resp.StatusCode == http.StatusServiceUnavailable {
				t.Fatalf("no browser for screenshots: %s\nInstall Chromium (apt-get install chromium) and the Playwright driver "+
					"(make deps, or npm install playwright-core@1.52.0 into $%s with the node and package links), and set $%s if the browser is elsewhere",
					body, envTestDriver, envTestBrowser)
			}
			must.Eq(t, 200, resp.StatusCode, must.Sprint(string(body)))
			must.Eq(t, "image/png", resp.Header.Get("Content-Type"))
			must.StrContains(t, resp.Header.Get("Content-Disposition"), "screenshot_"+testAlloc+"_app_")
			img, err := png.Decode(bytes.NewReader(body))
			must.NoError(t, err)
			b := img.Bounds()
			must.Eq(t, 1920, b.Dx())
			must.GreaterEq(t, 1080, b.Dy())
			// The page's red background proves the site itself was photographed.
			r, g, bl, _ := img.At(b.Dx()-10, b.Dy()-10).RGBA()
			must.Eq(t, [3]uint32{0xffff, 0, 0}, [3]uint32{r, g, bl}, must.Sprint("bottom-right pixel is the page's background"))

			// A second one reuses the warm browser.
			s.srv.shots.mu.Lock()
			warm := s.srv.shots.browser
			s.srv.shots.mu.Unlock()
			resp, body = s.do("GET", taskURL("/screenshot?path=/index.html"), nil)
			must.Eq(t, 200, resp.StatusCode, must.Sprint(string(body)))
			s.srv.shots.mu.Lock()
			must.True(t, warm == s.srv.shots.browser, must.Sprint("the same browser served both"))
			s.srv.shots.mu.Unlock()

			// A browser that went away is started again on the next request.
			must.NoError(t, warm.Close())
			resp, body = s.do("GET", taskURL("/screenshot"), nil)
			must.Eq(t, 200, resp.StatusCode, must.Sprint(string(body)))
			_, err = png.Decode(bytes.NewReader(body))
			must.NoError(t, err)
		})
	}
}

func TestIISSim_Procdump(t *testing.T) {
	s := newSimEnv(t, "")
	var pid int
	testkit.Eventually(t, "a worker process", func() bool {
		st := s.status()
		if len(st.DefaultApplicationPool.WorkerProcesses) == 0 {
			return false
		}
		pid = st.DefaultApplicationPool.WorkerProcesses[0].ProcessID
		return true
	})
	resp := s.stream("GET", taskURL("/procdump?appPoolName=default&pid="+strconv.Itoa(pid)), nil)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusServiceUnavailable {
			t.Fatalf("no dump tool: %s (install gdb: apt-get install gdb)", body)
		}
		t.Fatalf("procdump: %d %s", resp.StatusCode, body)
	}
	must.StrContains(t, resp.Header.Get("Content-Disposition"), "procdump_"+testAlloc+"_app_")
	head := make([]byte, 4)
	_, err := io.ReadFull(resp.Body, head)
	must.NoError(t, err)
	must.Eq(t, "\x7fELF", string(head), must.Sprint("a core file"))
	rest, err := io.Copy(io.Discard, resp.Body)
	must.NoError(t, err)
	must.Eq(t, resp.Header.Get("Content-Length"), strconv.FormatInt(rest+4, 10))
	t.Logf("core file of worker %d: %d MiB", pid, (rest+4)>>20)
	// The worker survived the dump, and the temporary file is gone.
	code, _ := s.site("/")
	must.Eq(t, 200, code)
	testkit.Eventually(t, "the dump file to be removed", func() bool {
		entries, err := os.ReadDir(s.srv.cfg.DumpDir)
		must.NoError(t, err)
		return len(entries) == 0
	})
}

// TestIISSim_ScreenshotStaysOnTheSite checks that the page cannot make the
// browser fetch from anywhere but the task's own site (another local
// server stands for the rest of the network), unless remote resources are
// allowed.
func TestIISSim_ScreenshotStaysOnTheSite(t *testing.T) {
	hits := make(chan string, 10)
	other := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits <- r.URL.Path
		w.Header().Set("Content-Type", "image/gif")
	}), ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must.NoError(t, err)
	go func() { _ = other.Serve(ln) }()
	t.Cleanup(func() { _ = other.Close() })
	for _, allow := range []bool{false, true} {
		t.Run(fmt.Sprintf("allowRemote=%v", allow), func(t *testing.T) {
			s := newSimEnv(t, "", func(c *Config) { c.ScreenshotAllowRemote = allow })
			page := fmt.Sprintf(`<html><body><img src="http://%s/pixel.gif"><img src="http://%s/pixel.gif"></body></html>`, ln.Addr(), "metadata.example.test:"+strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
			must.NoError(t, os.WriteFile(filepath.Join(s.task.TaskDir, "local", "index.html"), []byte(page), 0o644))
			resp, body := s.do("GET", taskURL("/screenshot"), nil)
			must.Eq(t, 200, resp.StatusCode, must.Sprint(string(body)))
			got := 0
			for len(hits) > 0 {
				<-hits
				got++
			}
			if allow {
				must.Positive(t, got, must.Sprint("with remote resources allowed the image is fetched"))
			} else {
				must.Zero(t, got, must.Sprint("no request left the task's site"))
			}
		})
	}
}
