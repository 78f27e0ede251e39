package client

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

// newTestClient is a client of srv whose waits between retries are recorded
// instead of slept.
func newTestClient(t *testing.T, srv *httptest.Server, cfg Config) (*Client, *[]time.Duration) {
	t.Helper()
	cfg.BaseURL = srv.URL
	c, err := New(cfg)
	must.NoError(t, err)
	var mu sync.Mutex
	waits := new([]time.Duration)
	c.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		*waits = append(*waits, d)
		return ctx.Err()
	}
	return c, waits
}

func problem(w http.ResponseWriter, status int, retryAfter, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": http.StatusText(status), "status": status, "detail": detail})
}

var task1 = Task{AllocID: "9f2c5b1e-0c47-8a43-bd8b-3f1d2a7e6c01", TaskName: "app"}

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{}, "BaseURL is empty"},
		{Config{BaseURL: "node1:5004"}, "not an http:// or https:// URL"},
		{Config{BaseURL: "ftp://node1"}, "not an http:// or https:// URL"},
		{Config{BaseURL: "http://node1", APIKey: "k", Token: "t"}, "not both"},
	} {
		_, err := New(tc.cfg)
		must.ErrorContains(t, err, tc.want)
	}
	c, err := New(Config{BaseURL: "http://node1:5004/api/v1/"})
	must.NoError(t, err)
	must.EqOp(t, "http://node1:5004", c.BaseURL())
}

func TestProblemJSON(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/allocs/" + task1.AllocID + "/app/status":
			problem(w, http.StatusNotFound, "", "no task app in allocation "+task1.AllocID)
		default:
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadGateway)
			_, _ = io.WriteString(w, "<h1>bad gateway</h1>\nproxy says no")
		}
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv, Config{})

	_, err := c.Status(context.Background(), task1)
	var ae *Error
	must.True(t, errors.As(err, &ae))
	must.EqOp(t, http.StatusNotFound, ae.Status)
	must.EqOp(t, "Not Found", ae.Title)
	must.EqOp(t, "no task app in allocation "+task1.AllocID, ae.Detail)
	must.EqOp(t, "GET /api/v1/allocs/"+task1.AllocID+"/app/status: 404 Not Found: no task app in allocation "+task1.AllocID, err.Error())
	must.False(t, ae.Busy())
	must.True(t, IsStatus(err, 404))

	_, err = c.Version(context.Background())
	must.True(t, errors.As(err, &ae))
	must.EqOp(t, http.StatusBadGateway, ae.Status)
	must.EqOp(t, "<h1>bad gateway</h1>", ae.Detail)
}

func TestCredentialsAreSent(t *testing.T) {
	t.Parallel()
	var got []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("X-Api-Key")+"|"+r.Header.Get("Authorization"))
		mu.Unlock()
		_, _ = io.WriteString(w, `{"version":"0.21.0"}`)
	}))
	defer srv.Close()
	for _, cfg := range []Config{{APIKey: "k1"}, {Token: "t.o.k"}, {}} {
		c, _ := newTestClient(t, srv, cfg)
		v, err := c.Version(context.Background())
		must.NoError(t, err)
		must.EqOp(t, "0.21.0", v)
	}
	must.Eq(t, []string{"k1|", "|Bearer t.o.k", "|"}, got)
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		status     int
		retryAfter string
		failures   int
		maxRetries int
		wantWaits  []time.Duration
		wantErr    bool
		attempts   int
	}{
		{"409 twice then ok", 409, "5", 2, 0, []time.Duration{5 * time.Second, 5 * time.Second}, false, 3},
		{"429 once then ok", 429, "10", 1, 0, []time.Duration{10 * time.Second}, false, 2},
		{"503 with an HTTP date in the past", 503, "Mon, 02 Jan 2006 15:04:05 GMT", 1, 0, []time.Duration{0}, false, 2},
		{"capped wait", 503, "600", 1, 0, []time.Duration{DefaultMaxRetryWait}, false, 2},
		{"busy after the retries", 409, "5", 100, 2, []time.Duration{5 * time.Second, 5 * time.Second}, true, 3},
		{"409 without Retry-After is not retried", 409, "", 1, 0, nil, true, 1},
		{"500 is not retried", 500, "5", 1, 0, nil, true, 1},
		{"no retries", 429, "5", 1, -1, nil, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			calls := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				calls++
				n := calls
				mu.Unlock()
				if n <= tc.failures {
					problem(w, tc.status, tc.retryAfter, "another operation on this task is in progress")
					return
				}
				_, _ = io.WriteString(w, `{"allocId":"a","operation":"recycle","applicationPools":[{"name":"default","status":"Started"}]}`)
			}))
			defer srv.Close()
			var retried []int
			c, waits := newTestClient(t, srv, Config{MaxRetries: tc.maxRetries, OnRetry: func(e *Error, _ time.Duration) { retried = append(retried, e.Status) }})
			res, err := c.Pools(context.Background(), task1, PoolRecycle, "")
			must.Eq(t, tc.wantWaits, *waits)
			must.EqOp(t, len(tc.wantWaits), len(retried))
			mu.Lock()
			must.EqOp(t, tc.attempts, calls)
			mu.Unlock()
			if !tc.wantErr {
				must.NoError(t, err)
				must.EqOp(t, "Started", res.ApplicationPools[0].Status)
				return
			}
			var ae *Error
			must.True(t, errors.As(err, &ae))
			must.EqOp(t, tc.status, ae.Status)
			must.EqOp(t, tc.attempts, ae.Attempts)
			if tc.attempts > 1 {
				must.StrContains(t, err.Error(), "(after 3 attempts)")
				must.True(t, ae.Busy())
			}
		})
	}
}

func TestRetryStopsWithTheContext(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		problem(w, 503, "5", "the IIS backend is unavailable or restarting")
	}))
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL})
	must.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	c.sleep = func(ctx context.Context, d time.Duration) error {
		cancel()
		return sleepCtx(ctx, d)
	}
	_, err = c.Status(ctx, task1)
	must.ErrorIs(t, err, context.Canceled)
	must.True(t, IsStatus(err, 503))
}

// writeTree makes a small site folder.
func writeTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"index.html":           "<h1>v2</h1>",
		"css/site.css":         strings.Repeat("body { color: red }\n", 2000),
		"img/logo.png":         "\x89PNG\r\n\x1a\nnot really",
		"deep/a/b/c/page.html": "deep",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		must.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	must.NoError(t, os.Mkdir(filepath.Join(dir, "empty"), 0o755))
	return dir
}

// received is what an upload handler saw.
type received struct {
	method, query, contentType string
	contentLength              int64
	body                       []byte
	readErr                    error
}

// uploadServer answers statuses (with Retry-After) to the first uploads,
// then success; requests returns what it received so far.
func uploadServer(t *testing.T, statuses ...int) (srv *httptest.Server, requests func() []received) {
	var mu sync.Mutex
	var got []received
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, received{r.Method, r.URL.RawQuery, r.Header.Get("Content-Type"), r.ContentLength, body, err})
		n := len(got)
		mu.Unlock()
		if err != nil {
			problem(w, 400, "", "the request body could not be read")
			return
		}
		if n <= len(statuses) {
			problem(w, statuses[n-1], "5", "another operation on this task is in progress (upload to local)")
			return
		}
		_, _ = io.WriteString(w, `{"path":"local","kind":"zip","clean":true,"files":4,"folders":6,"bytes":40000,"stoppedApplicationPools":["default"]}`)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []received {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(got)
	}
}

func zipNames(t *testing.T, b []byte) map[string]string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	must.NoError(t, err)
	out := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		must.NoError(t, err)
		data, err := io.ReadAll(rc)
		must.NoError(t, err)
		rc.Close()
		out[f.Name] = string(data)
	}
	return out
}

func TestUploadFolderStreamsAZip(t *testing.T) {
	t.Parallel()
	dir := writeTree(t)
	srv, got := uploadServer(t, http.StatusConflict)
	c, waits := newTestClient(t, srv, Config{})
	var last, total int64
	calls := 0
	res, err := c.Upload(context.Background(), task1, "local", DirSource{Dir: dir}, UploadOptions{
		Clean: true,
		Progress: func(done, tot int64) {
			must.Greater(t, last, done+1) // strictly increasing
			last, total = done, tot
			calls++
		},
	})
	must.NoError(t, err)
	must.Eq(t, []string{"default"}, res.StoppedAppPools)
	must.Eq(t, []time.Duration{5 * time.Second}, *waits)
	reqs := got()
	must.Len(t, 2, reqs)
	for _, r := range reqs {
		must.EqOp(t, http.MethodPut, r.method)
		must.EqOp(t, "clean=true", r.query)
		must.EqOp(t, "application/zip", r.contentType)
		must.EqOp(t, int64(-1), r.contentLength) // chunked: zipped while sent
	}
	// The retry zipped the folder again: the second body is a whole archive.
	names := zipNames(t, reqs[1].body)
	must.EqOp(t, "<h1>v2</h1>", names["index.html"])
	must.EqOp(t, "deep", names["deep/a/b/c/page.html"])
	must.MapContainsKey(t, names, "empty/")
	must.EqOp(t, int64(len(reqs[1].body)), last)
	must.EqOp(t, int64(-1), total)
	must.Greater(t, 0, calls)
}

func TestUploadHotFile(t *testing.T) {
	t.Parallel()
	f := filepath.Join(t.TempDir(), "index.html")
	must.NoError(t, os.WriteFile(f, []byte("hello"), 0o644))
	srv, got := uploadServer(t)
	c, _ := newTestClient(t, srv, Config{})
	var last, total int64
	_, err := c.Upload(context.Background(), task1, "local/index.html", FileSource{Path: f}, UploadOptions{
		Hot: true, Progress: func(d, tt int64) { last, total = d, tt },
	})
	must.NoError(t, err)
	r := got()[0]
	must.EqOp(t, http.MethodPatch, r.method)
	must.EqOp(t, "application/octet-stream", r.contentType)
	must.EqOp(t, int64(5), r.contentLength)
	must.EqOp(t, "hello", string(r.body))
	must.EqOp(t, int64(5), last)
	must.EqOp(t, int64(5), total)
}

func TestUploadMissingFolder(t *testing.T) {
	t.Parallel()
	srv, got := uploadServer(t)
	c, _ := newTestClient(t, srv, Config{})
	_, err := c.Upload(context.Background(), task1, "local", DirSource{Dir: filepath.Join(t.TempDir(), "nope")}, UploadOptions{})
	must.ErrorIs(t, err, os.ErrNotExist)
	must.Len(t, 0, got())
}

func TestDownload(t *testing.T) {
	t.Parallel()
	payload := bytes.Repeat([]byte("0123456789"), 10000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/allocs/" + task1.AllocID + "/app/fs/local/a%20b.bin", "/api/v1/allocs/" + task1.AllocID + "/app/fs/local/a b.bin":
			w.Header().Set("Content-Disposition", `attachment; filename="a b.bin"`)
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
			_, _ = w.Write(payload)
		case "/api/v1/allocs/" + task1.AllocID + "/app/procdump":
			must.EqOp(t, "appPoolName=api&pid=4242", r.URL.RawQuery)
			// Promise more than is sent, then drop the connection.
			w.Header().Set("Content-Length", "100000")
			w.WriteHeader(200)
			_, _ = w.Write(payload[:30000])
			w.(http.Flusher).Flush()
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		default:
			problem(w, 404, "", "no route "+r.URL.Path)
		}
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv, Config{})

	var buf bytes.Buffer
	var last, total int64
	d, err := c.DownloadFile(context.Background(), task1, "local/a b.bin", &buf, func(dn, tt int64) { last, total = dn, tt })
	must.NoError(t, err)
	must.EqOp(t, "a b.bin", d.Name)
	must.EqOp(t, int64(len(payload)), d.Size)
	must.Eq(t, payload, buf.Bytes())
	must.EqOp(t, int64(len(payload)), last)
	must.EqOp(t, int64(len(payload)), total)

	buf.Reset()
	last = 0
	d, err = c.ProcDump(context.Background(), task1, "api", 4242, &buf, func(dn, tt int64) { last, total = dn, tt })
	must.ErrorIs(t, err, ErrInterrupted)
	must.StrContains(t, err.Error(), "after 30000 of 100000 bytes")
	must.EqOp(t, int64(30000), d.Size)
	must.EqOp(t, int64(30000), last)
	must.EqOp(t, int64(100000), total)
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"5":                             5 * time.Second,
		"-3":                            0,
		"soon":                          0,
		"Thu, 01 Jan 2026 00:00:30 GMT": 30 * time.Second,
		"Wed, 31 Dec 2025 00:00:30 GMT": 0,
	} {
		must.EqOp(t, want, parseRetryAfter(in, now), must.Sprint(in))
	}
}
