//go:build !windows

package driver

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

// TestAppLogTailer_StaysInTheTaskDirectory checks that the app's log is read
// only from regular files inside the task directory: a link the job put
// there to another allocation's file is not followed, and a named pipe
// (whose open would wait for a writer) is skipped without being opened.
func TestAppLogTailer_StaysInTheTaskDirectory(t *testing.T) {
	t.Parallel()
	alloc := t.TempDir()
	taskDir := filepath.Join(alloc, "web")
	logs := filepath.Join(taskDir, "local", "logs")
	must.NoError(t, os.MkdirAll(logs, 0o755))
	other := filepath.Join(alloc, "other", "secrets")
	must.NoError(t, os.MkdirAll(other, 0o755))
	token := filepath.Join(other, "token")
	must.NoError(t, os.WriteFile(token, nil, 0o600))
	app := filepath.Join(logs, "app.log")
	must.NoError(t, os.WriteFile(app, []byte("before the start\n"), 0o644))
	must.NoError(t, os.Symlink(token, filepath.Join(logs, "link.log")))
	must.NoError(t, syscall.Mkfifo(filepath.Join(logs, "pipe.log"), 0o644))

	pattern := filepath.Join(logs, "*.log")
	tl := newAppLogTailer(taskDir, pattern, snapshotSizes(taskDir, pattern))
	// What is written after the task started is forwarded.
	appendLine(t, app, "app line")
	appendLine(t, token, "secret line")
	var out bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- tl.poll(&out) }()
	select {
	case err := <-done:
		must.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("poll did not return within 5s: it waits on the named pipe")
	}
	must.StrContains(t, out.String(), "app line")
	must.StrNotContains(t, out.String(), "before the start")
	must.StrNotContains(t, out.String(), "secret line")
}

// appendLine appends line and a newline to the file at path.
func appendLine(t *testing.T, path, line string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	must.NoError(t, err)
	_, err = f.WriteString(line + "\n")
	must.NoError(t, err)
	must.NoError(t, f.Close())
}
