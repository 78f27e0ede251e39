package api

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/hashicorp/go-hclog"
	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/iissim/simtest"
	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/nomad-iis/nomad-iis/ps"
)

func TestMain(m *testing.M) {
	simtest.MaybeRunSim()
	os.Exit(m.Run())
}

const (
	testKey    = "12345" // the key of the nomad-iis documentation's curl examples
	testKey2   = "second-key-for-rotation"
	testSecret = "0123456789abcdef0123456789abcdef-secret"
	testAlloc  = "e4c0ee58-2e27-2cd6-7ca5-6ef1ed036aad"
	otherAlloc = "0b0b0b0b-1111-2222-3333-444444444444"
)

// fakeIIS implements IIS in memory and records the calls it gets.
type fakeIIS struct {
	// mu guards every field below.
	mu       sync.Mutex
	pools    map[string]*ps.AppPool
	calls    []string
	getCalls int
	// getDelay slows GetAppPools (to make concurrent misses overlap).
	getDelay time.Duration
	// fail makes the named operation fail with this error.
	fail map[string]error
}

func newFakeIIS(pools ...string) *fakeIIS {
	f := &fakeIIS{pools: map[string]*ps.AppPool{}, fail: map[string]error{}}
	for _, n := range pools {
		f.pools[n] = &ps.AppPool{Name: n, State: ps.StateStarted, StartMode: "OnDemand",
			WorkerProcesses: []ps.WorkerProcess{{ProcessID: os.Getpid(), StartTime: time.Unix(1700000000, 0).UTC(), State: "Running"}}}
	}
	return f
}

func (f *fakeIIS) record(op, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, op+" "+name)
	return f.fail[op]
}

func (f *fakeIIS) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeIIS) setState(name, state string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pools[name].State = state
}

func (f *fakeIIS) GetAppPools(ctx context.Context, names ...string) ([]ps.AppPool, error) {
	f.mu.Lock()
	f.getCalls++
	delay, err := f.getDelay, f.fail["GetAppPools"]
	f.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []ps.AppPool
	for _, n := range names {
		if p, ok := f.pools[n]; ok {
			out = append(out, *p)
		}
	}
	return out, nil
}

func (f *fakeIIS) transition(op, name, state string) (*ps.AppPool, error) {
	if err := f.record(op, name); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p, ok := f.pools[name]
	if !ok {
		return nil, &ps.Error{Op: ps.OpGetAppPool, Kind: ps.KindNotFound, Message: "no pool " + name}
	}
	p.State = state
	cp := *p
	return &cp, nil
}

func (f *fakeIIS) StartAppPool(ctx context.Context, name string) (*ps.AppPool, error) {
	return f.transition("StartAppPool", name, ps.StateStarted)
}

func (f *fakeIIS) StopAppPool(ctx context.Context, name string, waitMs int64) (*ps.AppPool, error) {
	return f.transition("StopAppPool", name, ps.StateStopped)
}

func (f *fakeIIS) RecycleAppPool(ctx context.Context, name string) (*ps.AppPool, error) {
	return f.transition("RecycleAppPool", name, ps.StateStarted)
}

func (f *fakeIIS) GetManagedResources(ctx context.Context) (*ps.ManagedResources, error) {
	if err := f.record("GetManagedResources", ""); err != nil {
		return nil, err
	}
	return &ps.ManagedResources{
		Websites: []ps.ManagedResource{{Name: "nomad-" + testAlloc + "-app", State: "Started"}, {Name: "nomad-orphan", State: "Stopped"}},
		AppPools: []ps.ManagedResource{{Name: "nomad-" + testAlloc + "-app", State: "Started"}, {Name: "nomad-orphan-pool", State: "Stopped"}},
	}, nil
}

func (f *fakeIIS) GetExtensions(ctx context.Context) (*ps.Extensions, error) {
	if err := f.record("GetExtensions", ""); err != nil {
		return nil, err
	}
	return &ps.Extensions{Directory: "/ext", Extensions: []ps.Extension{
		{Name: "audit", Path: "/ext/audit.hook", Status: "Loaded", Hooks: []string{"PreStart"}},
		{Name: "broken", Path: "/ext/broken.hook", Status: "Failed", Error: "not executable", Hooks: []string{}},
	}}, nil
}

func (f *fakeIIS) GetWebsite(ctx context.Context, name string) (*ps.Website, error) {
	if err := f.record("GetWebsite", name); err != nil {
		return nil, err
	}
	return nil, &ps.Error{Op: ps.OpGetWebsite, Kind: ps.KindNotFound, Message: "website " + name + " does not exist"}
}

func (f *fakeIIS) SwitchApplicationVersion(ctx context.Context, args *ps.SwitchApplicationVersionArgs) (*ps.SwitchedApplicationVersion, error) {
	if err := f.record("SwitchApplicationVersion", args.SiteName); err != nil {
		return nil, err
	}
	return nil, &ps.Error{Op: ps.OpSwitchApplicationVersion, Kind: ps.KindNotFound, Message: "website " + args.SiteName + " does not exist"}
}

// env is a test Server over a fake registry, a fake IIS and a real task
// directory holding local/, secrets/, private/ and tmp/.
type env struct {
	t      testing.TB
	srv    *Server
	reg    *testkit.Registry
	iis    *fakeIIS
	task   Task
	logBuf *testkit.SyncBuffer
}

func newEnv(t testing.TB, mutate ...func(*Config)) *env {
	t.Helper()
	dir := t.TempDir()
	taskDir := filepath.Join(dir, "app")
	for _, d := range []string{"local", "secrets", "private", "tmp"} {
		must.NoError(t, os.MkdirAll(filepath.Join(taskDir, d), 0o755))
	}
	must.NoError(t, os.WriteFile(filepath.Join(taskDir, "local", "index.html"), []byte("<h1>v1</h1>"), 0o644))
	must.NoError(t, os.WriteFile(filepath.Join(taskDir, "secrets", "vault_token"), []byte("s.SECRET"), 0o600))
	must.NoError(t, os.WriteFile(filepath.Join(taskDir, "private", "p"), []byte("private"), 0o600))
	task := Task{
		TaskID: testAlloc + "/app", AllocID: testAlloc, TaskName: "app", TaskGroup: "app",
		Namespace: "default", JobID: "static-sample-app", JobName: "static-sample-app",
		TaskDir: taskDir, SiteName: "nomad-" + testAlloc + "-app", OwnsSite: true,
		AppPools:       map[string]string{"default": "nomad-" + testAlloc + "-app", "api": "nomad-" + testAlloc + "-app-api"},
		DefaultAppPool: "default",
		Bindings:       []ps.BindingSpec{{Protocol: "http", IPAddress: "*", Port: 1}},
	}
	other := Task{TaskID: otherAlloc + "/web", AllocID: otherAlloc, TaskName: "web", Namespace: "team-b",
		JobName: "other-job", TaskDir: filepath.Join(dir, "web"), AppPools: map[string]string{"default": "nomad-other"}, DefaultAppPool: "default"}
	reg := testkit.NewRegistry(task, other)
	fiis := newFakeIIS(task.AppPools["default"], task.AppPools["api"], "nomad-other")
	cfg := Config{APIKeys: []string{testKey, testKey2}, JWTSecret: []byte(testSecret), MaxZipStreams: 2}
	for _, m := range mutate {
		m(&cfg)
	}
	buf := &testkit.SyncBuffer{}
	logger := hclog.New(&hclog.LoggerOptions{Level: hclog.Trace, Output: buf})
	srv, err := New(cfg, reg, fiis, logger)
	must.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	return &env{t: t, srv: srv, reg: reg, iis: fiis, task: task, logBuf: buf}
}

// taskURL is the URL of a route of the test task.
func taskURL(suffix string) string {
	return "/api/v1/allocs/" + testAlloc + "/app" + suffix
}

type reqOpt func(*http.Request)

func withKey(k string) reqOpt { return func(r *http.Request) { r.Header.Set("X-Api-Key", k) } }

func withBearer(tok string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func withHeader(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

// do runs one request through the handler (no socket), with the API key
// unless opts set other credentials.
func (e *env) do(method, target string, body io.Reader, opts ...reqOpt) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(method, target, body)
	req.RemoteAddr = "192.0.2.10:40000"
	if len(opts) == 0 {
		opts = []reqOpt{withKey(testKey)}
	}
	for _, o := range opts {
		o(req)
	}
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	return rec
}

// problemOf decodes a problem body and checks its content type.
func problemOf(t *testing.T, rec *httptest.ResponseRecorder) problem {
	t.Helper()
	must.Eq(t, "application/problem+json", rec.Header().Get("Content-Type"), must.Sprintf("body: %s", rec.Body.String()))
	var p problem
	must.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
	must.Eq(t, rec.Code, p.Status)
	must.NotEq(t, "", p.Detail)
	return p
}

// token mints a nomad-iis style JWT.
func token(t *testing.T, claims jwt.MapClaims, mutate ...func(jwt.MapClaims)) string {
	t.Helper()
	base := jwt.MapClaims{
		"iss": JWTIssuer, "aud": JWTAudience,
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
		"namespace": "*", "jobName": "*", "allocId": "*", "capabilities": []string{"*"},
	}
	for k, v := range claims {
		base[k] = v
	}
	for _, m := range mutate {
		m(base)
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, base).SignedString([]byte(testSecret))
	must.NoError(t, err)
	return s
}

// snapshot describes every entry of dir (type, size, content hash, mode),
// so that two snapshots compare equal only if nothing changed.
func snapshot(t testing.TB, dir string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			lines = append(lines, fmt.Sprintf("L %s -> %s", rel, target))
		case d.IsDir():
			lines = append(lines, fmt.Sprintf("D %s %v", rel, info.Mode().Perm()))
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			lines = append(lines, fmt.Sprintf("F %s %d %s %v", rel, len(b), hex.EncodeToString(sum[:8]), info.ModTime().UnixNano()))
		}
		return nil
	})
	must.NoError(t, err)
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// readZip returns name -> content of an archive ("/"-suffixed names for folders).
func readZip(t *testing.T, b []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	must.NoError(t, err)
	out := map[string]string{}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/") {
			out[f.Name] = ""
			continue
		}
		rc, err := f.Open()
		must.NoError(t, err)
		data, err := io.ReadAll(rc)
		must.NoError(t, err)
		_ = rc.Close()
		out[f.Name] = string(data)
	}
	return out
}
