package driver

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/shoenig/test/must"
)

const w3cHeader = "#Software: Microsoft Internet Information Services 10.0\n" +
	"#Version: 1.0\n" +
	"#Date: 2026-01-02 03:04:05\n" +
	"#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port\n"

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	must.NoError(t, err)
	_, err = f.WriteString(s)
	must.NoError(t, err)
	must.NoError(t, f.Close())
}

func TestTailer_FollowsFilesFromTheirBaseline(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "app_1.log")
	appendFile(t, old, "before the task\n")
	tl := newTailer(filepath.Join(dir, "app_*.log"), snapshotSizes("", filepath.Join(dir, "app_*.log")), nil)
	var out bytes.Buffer

	must.NoError(t, tl.poll(&out))
	must.Eq(t, "", out.String())

	// New lines of an old file, a new file (a second worker's) read from
	// its start, and a line without its newline yet.
	appendFile(t, old, "one\r\ntwo\n")
	appendFile(t, filepath.Join(dir, "app_2.log"), "other worker\npart")
	must.NoError(t, tl.poll(&out))
	must.Eq(t, "one\ntwo\nother worker\n", out.String())

	out.Reset()
	appendFile(t, filepath.Join(dir, "app_2.log"), "ial\n")
	must.NoError(t, tl.poll(&out))
	must.Eq(t, "partial\n", out.String())

	// A truncated file is read again from its start.
	out.Reset()
	must.NoError(t, os.WriteFile(old, []byte("new\n"), 0o644))
	must.NoError(t, tl.poll(&out))
	must.Eq(t, "new\n", out.String())

	// Files not matching the glob are not read.
	out.Reset()
	appendFile(t, filepath.Join(dir, "other.log"), "no\n")
	must.NoError(t, tl.poll(&out))
	must.Eq(t, "", out.String())
}

func TestW3CFilter_OwnedSite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "u_ex260102.log")
	tl := newTailer(filepath.Join(dir, "u_ex*.log"), nil, newW3CFilter(nil))
	appendFile(t, path, w3cHeader+"2026-01-02 03:04:05 127.0.0.1 GET /index.html - 8080\n")
	var out bytes.Buffer
	must.NoError(t, tl.poll(&out))
	must.Eq(t, "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port\n"+
		"2026-01-02 03:04:05 127.0.0.1 GET /index.html - 8080\n", out.String())

	// A repeated header (the service reopened the file) is not repeated.
	out.Reset()
	appendFile(t, path, w3cHeader+"2026-01-02 03:04:06 127.0.0.1 GET /a.css - 8080\n")
	must.NoError(t, tl.poll(&out))
	must.Eq(t, "2026-01-02 03:04:06 127.0.0.1 GET /a.css - 8080\n", out.String())
}

func TestW3CFilter_TargetWebsiteKeepsOwnRequests(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "u_ex260102.log")
	// The shared site's log already has a header and requests of others.
	appendFile(t, path, w3cHeader+"2026-01-02 03:04:05 127.0.0.1 GET /other/x - 80\n")
	tl := newTailer(filepath.Join(dir, "u_ex*.log"), snapshotSizes("", path), newW3CFilter([]string{"shop", "api/v1"}))
	appendFile(t, path, strings.Join([]string{
		"2026-01-02 03:04:06 127.0.0.1 GET /Shop/cart - 80",
		"2026-01-02 03:04:06 127.0.0.1 GET /shopping - 80",
		"2026-01-02 03:04:06 127.0.0.1 GET /api/v1 - 80",
		"2026-01-02 03:04:06 127.0.0.1 GET /api/v2/x - 80",
		"2026-01-02 03:04:06 127.0.0.1 GET / - 80",
	}, "\n")+"\n")
	var out bytes.Buffer
	must.NoError(t, tl.poll(&out))
	must.Eq(t, "2026-01-02 03:04:06 127.0.0.1 GET /Shop/cart - 80\n"+
		"2026-01-02 03:04:06 127.0.0.1 GET /api/v1 - 80\n", out.String())
}

// failingWriter fails its writes while broken.
type failingWriter struct {
	broken bool
	bytes.Buffer
}

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.broken {
		return 0, os.ErrClosed
	}
	return w.Buffer.Write(p)
}

func TestTailer_RetriesLinesAfterAFailedWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	tl := newTailer(path, nil, nil)
	appendFile(t, path, "first\nsec")
	w := &failingWriter{broken: true}
	must.ErrorIs(t, tl.poll(w), os.ErrClosed)

	// The pipe is back (a new log collector): nothing was lost.
	w.broken = false
	appendFile(t, path, "ond\n")
	must.NoError(t, tl.poll(w))
	must.Eq(t, "first\nsecond\n", w.String())
}

func TestTailer_RetriesW3CHeaderAfterAFailedWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "u_ex260102.log")
	tl := newTailer(filepath.Join(dir, "u_ex*.log"), nil, newW3CFilter(nil))
	appendFile(t, path, w3cHeader+"2026-01-02 03:04:06 127.0.0.1 GET / - 80\n")
	w := &failingWriter{broken: true}
	must.ErrorIs(t, tl.poll(w), os.ErrClosed)

	// The lines are read again once the pipe is back, and so is the
	// #Fields line the failed write did not deliver.
	w.broken = false
	must.NoError(t, tl.poll(w))
	must.Eq(t, "#Fields: date time s-ip cs-method cs-uri-stem cs-uri-query s-port\n"+
		"2026-01-02 03:04:06 127.0.0.1 GET / - 80\n", w.String())
}

// stalledPipe is a log pipe whose reader stopped reading: a write blocks
// until a write deadline is set, as on a full FIFO.
type stalledPipe struct {
	writing      chan struct{}
	deadline     chan struct{}
	writingOnce  sync.Once
	deadlineOnce sync.Once
}

func newStalledPipe() *stalledPipe {
	return &stalledPipe{writing: make(chan struct{}), deadline: make(chan struct{})}
}

func (p *stalledPipe) Write([]byte) (int, error) {
	p.writingOnce.Do(func() { close(p.writing) })
	<-p.deadline
	return 0, os.ErrDeadlineExceeded
}

func (p *stalledPipe) SetWriteDeadline(time.Time) error {
	p.deadlineOnce.Do(func() { close(p.deadline) })
	return nil
}

func (p *stalledPipe) Close() error { return nil }

func TestTaskHandle_ForwardLogs_DestroyEndsAStalledWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendFile(t, path, "a line nobody reads\n")
	ctx, cancel := context.WithCancel(context.Background())
	h := &taskHandle{ctx: ctx, cancel: cancel, doneCh: make(chan struct{}), logger: hclog.NewNullLogger()}
	w := newStalledPipe()
	res := make(chan error, 1)
	go func() { res <- h.forwardLogs(w, newTailer(path, nil, nil), time.Hour) }()
	<-w.writing

	// DestroyTask cancels the handle and then waits for its goroutines.
	h.cancel()
	select {
	case err := <-res:
		must.ErrorIs(t, err, os.ErrDeadlineExceeded)
	case <-time.After(time.Minute):
		t.Fatal("the forwarder is still blocked in a write after the handle was destroyed")
	}
}
