//go:build unix

package api

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/api/fsroot"
	"github.com/nomad-iis/nomad-iis/internal/testkit"
)

// within runs a request and fails the test if it does not answer in time
// (before the fix, a GET of a named pipe blocked in open(2) forever).
func within(t *testing.T, d time.Duration, what string, do func() *httptest.ResponseRecorder) *httptest.ResponseRecorder {
	t.Helper()
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() { done <- do() }()
	select {
	case rec := <-done:
		return rec
	case <-time.After(d):
		t.Fatalf("%s did not answer within %s", what, d)
		return nil
	}
}

// A named pipe in the task directory is never opened: a GET refuses it at
// once (opening it would wait for a writer, holding the read gate, and
// every upload behind it), a folder download skips it and a listing shows
// it without opening it.
func TestFS_NamedPipeIsNeverOpened(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	must.NoError(t, syscall.Mkfifo(filepath.Join(e.task.TaskDir, "local", "pipe"), 0o644))
	must.NoError(t, syscall.Mkfifo(filepath.Join(e.task.TaskDir, "toppipe"), 0o644))

	for _, p := range []string{"local/pipe", "toppipe"} {
		for _, m := range []string{"GET", "HEAD"} {
			rec := within(t, 5*time.Second, m+" "+p, func() *httptest.ResponseRecorder {
				return e.do(m, taskURL("/fs/"+p), nil, withKey(testKey))
			})
			must.Eq(t, 403, rec.Code, must.Sprint(m, p))
			if m == "GET" {
				d := problemOf(t, rec).Detail
				must.StrContains(t, d, `"`+p+`"`)
				must.StrContains(t, d, "named pipe (FIFO)")
			}
		}
	}

	// An upload next to it still goes through: no gate is left held.
	rec := within(t, 10*time.Second, "PUT", func() *httptest.ResponseRecorder {
		return e.do("PUT", taskURL("/fs/local/index.html"), strings.NewReader("v2"), withKey(testKey))
	})
	must.Eq(t, 200, rec.Code, must.Sprint(rec.Body.String()))

	// The folder download skips the pipe and names it in the log.
	rec = within(t, 5*time.Second, "folder GET", func() *httptest.ResponseRecorder {
		return e.do("GET", taskURL("/fs/local"), nil, withKey(testKey))
	})
	must.Eq(t, 200, rec.Code)
	files := readZip(t, rec.Body.Bytes())
	must.Eq(t, "v2", files["index.html"])
	_, hasPipe := files["pipe"]
	must.False(t, hasPipe)
	must.StrContains(t, e.logBuf.String(), "names=pipe")

	// Listings describe it without opening it.
	rec = within(t, 5*time.Second, "ls", func() *httptest.ResponseRecorder {
		return e.do("GET", taskURL("/ls/local/pipe"), nil, withKey(testKey))
	})
	must.Eq(t, 200, rec.Code)
	must.StrContains(t, rec.Body.String(), `"type":"other"`)
	rec = within(t, 5*time.Second, "ls", func() *httptest.ResponseRecorder {
		return e.do("GET", taskURL("/ls/local"), nil, withKey(testKey))
	})
	must.Eq(t, 200, rec.Code)
	must.StrContains(t, rec.Body.String(), `"name":"pipe"`)
}

// A download that never ends (a stalled reader) does not hold an upload,
// and the task's lock, without limit: the upload gives up with 409 and a
// Retry-After, and the next one is refused for the same reason, not for
// the lock.
func TestFS_CommitGateWaitIsBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.RequestTimeout = 300 * time.Millisecond })
	tree, err := fsroot.Open(e.task.TaskDir)
	must.NoError(t, err)
	defer tree.Close()
	release := tree.ReadGate() // a download in progress
	defer release()

	for range 2 {
		rec := within(t, 10*time.Second, "PUT", func() *httptest.ResponseRecorder {
			return e.do("PUT", taskURL("/fs/local"), bytes.NewReader(testkit.MakeZip(testkit.ZipEntry{Name: "index.html", Body: "v2"})),
				withKey(testKey), withHeader("Content-Type", "application/zip"))
		})
		must.Eq(t, 409, rec.Code)
		must.NotEq(t, "", rec.Header().Get("Retry-After"))
		must.StrContains(t, problemOf(t, rec).Detail, "a download of this task's files has been in progress")
	}
	b, err := os.ReadFile(filepath.Join(e.task.TaskDir, "local", "index.html"))
	must.NoError(t, err)
	must.Eq(t, "<h1>v1</h1>", string(b))
	// The pools were never stopped for the upload that gave up.
	must.SliceEmpty(t, e.iis.callLog())

	release()
	rec := e.do("PUT", taskURL("/fs/local/index.html"), strings.NewReader("v3"), withKey(testKey))
	must.Eq(t, 200, rec.Code)
}
