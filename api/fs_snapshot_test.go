package api

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/shoenig/test/must"
)

// writeRandomSite fills local/ with n incompressible files of size bytes,
// more than the socket buffers between a server and a client that stops
// reading can hold, and returns their content by name.
func writeRandomSite(t *testing.T, e *env, n, size int) map[string][]byte {
	t.Helper()
	want := map[string][]byte{}
	for i := range n {
		b := make([]byte, size)
		_, _ = rand.Read(b)
		name := fmt.Sprintf("part%02d.bin", i)
		must.NoError(t, os.WriteFile(filepath.Join(e.task.TaskDir, "local", name), b, 0o644))
		want[name] = b
	}
	want["index.html"] = []byte("<h1>v1</h1>")
	return want
}

// TestFS_PutCompletesWhileSlowFolderDownload: a client that stops reading
// a folder download does not hold off a PUT of that folder; the PUT
// replaces the content at once, and the download, resumed, delivers the
// content it started with, complete.
func TestFS_PutCompletesWhileSlowFolderDownload(t *testing.T) {
	t.Parallel()
	// A commit that waited for the download would give up after 2 s with 409.
	e := newEnv(t, func(c *Config) { c.RequestTimeout = 2 * time.Second })
	want := writeRandomSite(t, e, 16, 1<<20)
	addr := serveRaw(t, e)

	req, err := http.NewRequest(http.MethodGet, "http://"+addr+taskURL("/fs/local"), nil)
	must.NoError(t, err)
	req.Header.Set("X-Api-Key", testKey)
	resp, err := http.DefaultClient.Do(req)
	must.NoError(t, err)
	defer resp.Body.Close()
	must.Eq(t, http.StatusOK, resp.StatusCode)
	// The download has started; the client now reads one byte and stalls.
	_, err = io.ReadFull(resp.Body, make([]byte, 1))
	must.NoError(t, err)

	rec := e.do("PUT", taskURL("/fs/local?clean=true"), bytes.NewReader(testkit.MakeZip(testkit.ZipEntry{Name: "index.html", Body: "<h1>v2</h1>"})),
		withKey(testKey), withHeader("Content-Type", "application/zip"))
	must.Eq(t, http.StatusOK, rec.Code, must.Sprint(rec.Body.String()))
	entries, err := os.ReadDir(filepath.Join(e.task.TaskDir, "local"))
	must.NoError(t, err)
	must.SliceLen(t, 1, entries, must.Sprint("the PUT with clean=true did not replace the folder"))
	got, err := os.ReadFile(filepath.Join(e.task.TaskDir, "local", "index.html"))
	must.NoError(t, err)
	must.Eq(t, "<h1>v2</h1>", string(got))

	// The download resumes and gets the old content, whole.
	rest, err := io.ReadAll(resp.Body)
	must.NoError(t, err)
	body := append([]byte("P"), rest...)
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	must.NoError(t, err)
	files := 0
	for _, f := range zr.File {
		if f.FileInfo().IsDir() {
			continue
		}
		rc, err := f.Open()
		must.NoError(t, err)
		b, err := io.ReadAll(rc)
		must.NoError(t, err)
		must.True(t, bytes.Equal(want[f.Name], b), must.Sprintf("%s differs from the content the download started with", f.Name))
		files++
	}
	must.Eq(t, len(want), files)
}

// TestFS_FolderDownloadTooLargeForSnapshot: a folder with more files than a
// snapshot holds is still downloaded whole, from the live tree.
func TestFS_FolderDownloadTooLargeForSnapshot(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.srv.snapshotFiles = 2
	want := writeRandomSite(t, e, 3, 100)
	rec := e.do("GET", taskURL("/fs/local"), nil, withKey(testKey))
	must.Eq(t, http.StatusOK, rec.Code)
	got := readZip(t, rec.Body.Bytes())
	must.MapLen(t, len(want), got)
	for name, b := range want {
		must.Eq(t, string(b), got[name])
	}
	must.StrContains(t, e.logBuf.String(), "folder download streamed under the read gate")
}
