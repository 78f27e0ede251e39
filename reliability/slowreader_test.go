package reliability

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
)

// TestHostile_SlowDownloadDoesNotHoldWriters: a client with read rights
// starts a folder download of a task and stops reading. Meanwhile a deploy
// (PUT, clean), a second folder download, a pool stop and start and a
// delete of the same folder's files each complete, well inside the 30 s an
// upload used to wait for the download before answering 409. The stalled
// client, resumed, receives the complete content it started with.
func TestHostile_SlowDownloadDoesNotHoldWriters(t *testing.T) {
	sim := simIIS(t)
	files := map[string]string{"index.html": "<h1>v1</h1>"}
	for i := range 16 { // 16 MiB that do not compress: more than the socket buffers hold
		b := make([]byte, 1<<20)
		_, _ = rand.Read(b)
		files[fmt.Sprintf("assets/part%02d.bin", i)] = string(b)
	}
	task := taskFor(1, newTaskDir(t, t.TempDir(), "task", files))
	port := createSite(t, sim.IIS, task)
	base := startAPI(t, testkit.NewRegistry(task), sim.IIS)
	client := &http.Client{Timeout: time.Minute}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// The slow client: the download starts, one byte is read, then nothing.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, taskURL(base, task, "/fs/local"), nil)
	must.NoError(t, err)
	req.Header.Set("X-Api-Key", apiKey)
	slow, err := (&http.Client{}).Do(req)
	must.NoError(t, err)
	defer slow.Body.Close()
	must.Eq(t, http.StatusOK, slow.StatusCode)
	first := make([]byte, 1)
	_, err = io.ReadFull(slow.Body, first)
	must.NoError(t, err)

	timed := func(what, method, path, contentType string, body []byte) time.Duration {
		t.Helper()
		start := time.Now()
		code, resp, err := do(ctx, client, method, taskURL(base, task, path), contentType, bytes.NewReader(body))
		took := time.Since(start)
		must.NoError(t, err, must.Sprint(what))
		must.Eq(t, http.StatusOK, code, must.Sprintf("%s: %s", what, resp))
		return took
	}
	v2 := testkit.MakeZip(testkit.ZipEntry{Name: "index.html", Body: "<h1>v2</h1>"}, testkit.ZipEntry{Name: "assets/app.js", Body: "let v = 2"})
	put := timed("PUT while a download stalls", http.MethodPut, "/fs/local?clean=true", "application/zip", v2)
	get := timed("another folder download", http.MethodGet, "/fs/local", "", nil)
	stop := timed("stop the pool", http.MethodPut, "/stop", "", nil)
	start := timed("start the pool", http.MethodPut, "/start", "", nil)
	del := timed("delete a folder", http.MethodDelete, "/fs/local/assets", "", nil)
	for what, d := range map[string]time.Duration{"PUT": put, "GET": get, "stop": stop, "start": start, "DELETE": del} {
		must.Less(t, 10*time.Second, d, must.Sprintf("%s waited for the stalled download", what))
	}
	must.Eq(t, map[string]string{"index.html": "<h1>v2</h1>"}, readTree(t, filepath.Join(task.TaskDir, "local")))
	code, body, err := getBody(fmt.Sprintf("http://127.0.0.1:%d/", port))
	must.NoError(t, err)
	must.Eq(t, http.StatusOK, code)
	must.Eq(t, "<h1>v2</h1>", body)

	// The stalled client resumes: the archive is whole and is the old content.
	rest, err := io.ReadAll(slow.Body)
	must.NoError(t, err)
	got, err := readZip(append(first, rest...))
	must.NoError(t, err)
	must.Eq(t, len(files), len(got))
	for name, want := range files {
		must.True(t, got[name] == want, must.Sprintf("%s is not the content the download started with", name))
	}
	_, err = os.Stat(filepath.Join(task.TaskDir, "local", "assets"))
	must.True(t, os.IsNotExist(err))
	must.SliceEmpty(t, reservedEntries(t, task.TaskDir))
	figure(t, "stalled_download_put_ms=%d stalled_download_get_ms=%d stalled_download_stop_ms=%d stalled_download_start_ms=%d stalled_download_delete_ms=%d stalled_download_bytes=%d",
		put.Milliseconds(), get.Milliseconds(), stop.Milliseconds(), start.Milliseconds(), del.Milliseconds(), len(rest)+1)
}

// getBody fetches url without keep-alive and returns the status and body.
func getBody(url string) (int, string, error) {
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}
