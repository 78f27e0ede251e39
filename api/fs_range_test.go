package api

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
)

// putPart sends body as the part first-last/total of path.
func (e *env) putPart(method, path, rng string, body []byte, opts ...reqOpt) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do(method, taskURL("/fs/"+path), bytes.NewReader(body), append([]reqOpt{withKey(testKey), withHeader("Content-Range", rng)}, opts...)...)
}

// partFiles lists the unfinished uploads under the task directory.
func (e *env) partFiles() []string {
	e.t.Helper()
	var out []string
	must.NoError(e.t, filepath.WalkDir(e.task.TaskDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".nomad-iis-part-") {
			out = append(out, p)
		}
		return err
	}))
	return out
}

func TestRangeUpload_PartsThenWhole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := e.putPart("PUT", "local/big.bin", "bytes 0-4/12", []byte("AAAAA"))
	must.Eq(t, 202, rec.Code, must.Sprint(rec.Body.String()))
	must.Eq(t, "5", rec.Header().Get("Upload-Offset"))
	must.Eq(t, "12", rec.Header().Get("Upload-Length"))
	must.False(t, e.exists("local/big.bin"), must.Sprint("invisible until complete"))
	must.SliceEmpty(t, e.iis.callLog(), must.Sprint("the pools are not touched for a part"))

	head := e.do("HEAD", taskURL("/fs/local/big.bin"), nil)
	must.Eq(t, 204, head.Code)
	must.Eq(t, "5", head.Header().Get("Upload-Offset"))
	must.Eq(t, "12", head.Header().Get("Upload-Length"))
	ls := e.do("GET", taskURL("/ls/local"), nil)
	must.StrNotContains(t, ls.Body.String(), "nomad-iis", must.Sprint("the part is hidden from listings"))

	// Overlapping parts rewrite the bytes already in.
	must.Eq(t, 202, e.putPart("PUT", "local/big.bin", "bytes 0-4/12", []byte("hello")).Code)
	must.Eq(t, 202, e.putPart("PUT", "local/big.bin", "bytes 3-8/12", []byte("lo wor")).Code)
	rec = e.putPart("PUT", "local/big.bin", "bytes 7-11/12", []byte("orld!"))
	must.Eq(t, 200, rec.Code, must.Sprint(rec.Body.String()))
	must.StrContains(t, rec.Body.String(), `"kind":"file"`)
	must.StrContains(t, rec.Body.String(), `"bytes":12`)
	must.Eq(t, "hello world!", e.read("local/big.bin"))
	must.SliceEmpty(t, e.partFiles())
	must.SliceContains(t, e.iis.callLog(), "StopAppPool "+e.task.AppPools["default"])

	head = e.do("HEAD", taskURL("/fs/local/big.bin"), nil)
	must.Eq(t, 200, head.Code)
	must.Eq(t, "", head.Header().Get("Upload-Offset"))
	must.StrContains(t, strings.Join(e.reg.Events(), "\n"), "uploaded local/big.bin in parts")
}

func TestRangeUpload_ZipInParts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	z := testkit.MakeZip(testkit.ZipEntry{Name: "a.txt", Body: "a"}, testkit.ZipEntry{Name: "d/b.txt", Body: "bb"})
	half := len(z) / 2
	zipCT := withHeader("Content-Type", "application/zip")
	rng := func(a, b int) string { return "bytes " + itoa(a) + "-" + itoa(b) + "/" + itoa(len(z)) }
	must.Eq(t, 202, e.putPart("PATCH", "local/app", rng(0, half-1), z[:half], zipCT).Code)
	rec := e.putPart("PATCH", "local/app", rng(half, len(z)-1), z[half:], zipCT)
	must.Eq(t, 200, rec.Code, must.Sprint(rec.Body.String()))
	must.Eq(t, "bb", e.read("local/app/d/b.txt"))
	must.SliceEmpty(t, e.partFiles())
	must.SliceEmpty(t, e.iis.callLog(), must.Sprint("PATCH leaves the pools running"))
}

// TestRangeUpload_ResumeAfterABrokenPart: the bytes of an interrupted part
// that arrived stay; the client resumes where Upload-Offset says.
func TestRangeUpload_ResumeAfterABrokenPart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := e.putPart("PUT", "local/f", "bytes 0-9/12", []byte("01234"), func(r *http.Request) { r.ContentLength = 10 })
	must.Eq(t, 400, rec.Code, must.Sprint(rec.Body.String()))
	must.StrContains(t, problemOf(t, rec).Detail, "resume at byte 5")
	must.Eq(t, "5", rec.Header().Get("Upload-Offset"))
	head := e.do("HEAD", taskURL("/fs/local/f"), nil)
	must.Eq(t, "5", head.Header().Get("Upload-Offset"))
	must.Eq(t, 200, e.putPart("PUT", "local/f", "bytes 5-11/12", []byte("56789ab")).Code)
	must.Eq(t, "0123456789ab", e.read("local/f"))
}

func TestRangeUpload_Refusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, path, rng string
		body            string
		opts            []reqOpt
		setup           func(e *env)
		status          int
		detail          string
		offset          string
	}{
		{"range beyond total", "local/f", "bytes 0-12/12", "0123456789abc", nil, nil, 400, "beyond the total", ""},
		{"range ending before it starts", "local/f", "bytes 5-4/12", "", nil, nil, 400, "ends before it starts", ""},
		{"malformed", "local/f", "bytes=0-4/12", "01234", nil, nil, 400, "malformed", ""},
		{"unknown total", "local/f", "bytes 0-4/*", "01234", nil, nil, 400, "malformed", ""},
		{"huge numbers", "local/f", "bytes 0-4/99999999999999999999", "01234", nil, nil, 400, "malformed", ""},
		{"length differs", "local/f", "bytes 0-5/12", "01234", nil, nil, 400, "Content-Length is 5", ""},
		{"no length", "local/f", "bytes 0-4/12", "01234", []reqOpt{withContentLength(-1)}, nil, 411, "Content-Length", ""},
		{"total over the limit", "local/f", "bytes 0-4/12", "01234", nil, func(e *env) { e.srv.cfg.MaxUploadBytes = 11 }, 413, "limit is 11", ""},
		{"a gap", "local/f", "bytes 6-7/12", "67", nil, withPart, 416, "send the part starting at byte 5", "5"},
		{"another total", "local/f", "bytes 5-6/13", "56", nil, withPart, 409, "total of 12 bytes", "5"},
		{"secrets", "secrets/x", "bytes 0-4/12", "01234", nil, nil, 403, "secrets", ""},
		{"a folder", "local", "bytes 0-4/12", "01234", nil, nil, 409, "is a folder", ""},
		{"task busy", "local/f", "bytes 0-4/12", "01234", nil, func(e *env) { e.srv.locks.tryLock(e.task.TaskID, "test") }, 409, "in progress", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tc.setup != nil {
				tc.setup(e)
			}
			before := snapshot(t, e.task.TaskDir)
			rec := e.putPart("PUT", tc.path, tc.rng, []byte(tc.body), tc.opts...)
			must.Eq(t, tc.status, rec.Code, must.Sprint(rec.Body.String()))
			must.StrContains(t, problemOf(t, rec).Detail, tc.detail)
			must.Eq(t, tc.offset, rec.Header().Get("Upload-Offset"))
			must.Eq(t, before, snapshot(t, e.task.TaskDir), must.Sprint("a refused part changes nothing"))
		})
	}
}

// withPart starts an upload of local/f: 5 bytes of 12.
func withPart(e *env) {
	rec := e.putPart("PUT", "local/f", "bytes 0-4/12", []byte("01234"))
	must.Eq(e.t, 202, rec.Code, must.Sprint(rec.Body.String()))
}

func withContentLength(n int64) reqOpt {
	return func(r *http.Request) {
		r.ContentLength = n
		if n < 0 {
			r.Header.Set("Transfer-Encoding", "chunked")
		}
	}
}

// TestRangeUpload_FailedCompletionKeepsThePart: when the complete upload
// cannot be put in place (the backend is down for PUT), the part stays and
// sending the last part again finishes it.
func TestRangeUpload_FailedCompletionKeepsThePart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	withPart(e)
	fake := e.srv.iis
	e.srv.iis = testkit.DownIIS{}
	rec := e.putPart("PUT", "local/f", "bytes 5-11/12", []byte("56789ab"))
	must.Eq(t, 503, rec.Code, must.Sprint(rec.Body.String()))
	must.False(t, e.exists("local/f"))
	must.Eq(t, "12", e.do("HEAD", taskURL("/fs/local/f"), nil).Header().Get("Upload-Offset"))
	e.srv.iis = fake
	must.Eq(t, 200, e.putPart("PUT", "local/f", "bytes 11-11/12", []byte("b")).Code)
	must.Eq(t, "0123456789ab", e.read("local/f"))
}

// TestRangeUpload_Abandoned: the janitor deletes an upload whose last part
// is older than the retention, keeps it while its task is busy, and a
// whole upload to the folder spares a young part but not an old one.
func TestRangeUpload_Abandoned(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	withPart(e)
	must.Eq(t, 0, e.srv.sweepParts(), must.Sprint("young: kept"))
	must.SliceLen(t, 1, e.partFiles())

	// A whole upload to the same folder keeps the young part.
	must.Eq(t, 200, e.do("PATCH", taskURL("/fs/local/other.txt"), strings.NewReader("x")).Code)
	must.SliceLen(t, 1, e.partFiles())

	now := time.Now().Add(61 * time.Minute)
	e.srv.parts.mu.Lock()
	e.srv.parts.now = func() time.Time { return now }
	e.srv.parts.mu.Unlock()
	unlock, _ := e.srv.locks.tryLock(e.task.TaskID, "test")
	must.Eq(t, 0, e.srv.sweepParts(), must.Sprint("busy task: kept for the next sweep"))
	must.SliceLen(t, 1, e.partFiles())
	unlock()
	must.Eq(t, 1, e.srv.sweepParts())
	must.SliceEmpty(t, e.partFiles())
	must.Eq(t, 404, e.do("HEAD", taskURL("/fs/local/f"), nil).Code)

	// After a restart nothing remembers the part: its age on disk decides.
	withPart(e)
	old := time.Now().Add(-2 * time.Hour)
	must.NoError(t, os.Chtimes(e.partFiles()[0], old, old))
	must.Eq(t, 200, e.do("PATCH", taskURL("/fs/local/other.txt"), strings.NewReader("y")).Code)
	must.SliceEmpty(t, e.partFiles())
}

// TestRangeUpload_WholeUploadOrDeleteDropsThePart: a whole upload or a
// delete of the same path supersedes an unfinished upload in parts, so a
// later part cannot complete over the newer content.
func TestRangeUpload_WholeUploadOrDeleteDropsThePart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		then func(e *env) int
	}{
		{"whole PUT", func(e *env) int {
			return e.do("PUT", taskURL("/fs/local/big.bin"), strings.NewReader("newer")).Code
		}},
		{"DELETE", func(e *env) int {
			return e.do("DELETE", taskURL("/fs/local/big.bin"), nil).Code
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			must.Eq(t, 200, e.do("PUT", taskURL("/fs/local/big.bin"), strings.NewReader("older")).Code)
			must.Eq(t, 202, e.putPart("PUT", "local/big.bin", "bytes 0-4/12", []byte("AAAAA")).Code)
			must.SliceNotEmpty(t, e.partFiles())

			must.Eq(t, 200, tc.then(e))
			must.SliceEmpty(t, e.partFiles(), must.Sprint("the unfinished upload is dropped"))
			head := e.do("HEAD", taskURL("/fs/local/big.bin"), nil)
			must.Eq(t, "", head.Header().Get("Upload-Offset"))
			// A part that continues the dropped upload is refused (it
			// would leave a gap), not completed over the newer content.
			must.Eq(t, 416, e.putPart("PUT", "local/big.bin", "bytes 5-11/12", []byte("AAAAAAA")).Code)
		})
	}
}
