//go:build !windows

package driver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/shoenig/test/must"
)

// taskLog reads what Nomad's log collector wrote for the task's stream
// ("stdout" or "stderr").
func taskLog(tt *testTask, stream string) string {
	b, _ := os.ReadFile(filepath.Join(tt.cfg.AllocDir, "alloc", "logs", tt.cfg.Name+"."+stream+".0"))
	return string(b)
}

func TestIISDriver_Logs(t *testing.T) {
	n := newSimNode(t)
	_, h := n.newHarness(t)
	tt := newTask(t, h, "web", `config {
  application { path = "local" }
  binding {
    type       = "http"
    port       = "http"
    ip_address = "127.0.0.1"
  }
  app_log_file = "local/logs/stdout_*.log"
}`, map[string]string{"local/index.html": "x", "local/logs/stdout_old.log": "written before the start\n"})
	startTask(t, h, tt)

	// The request log reaches stdout.
	mustGet(t, tt.url("/index.html"), 200)
	mustGet(t, tt.url("/missing.html"), 404)
	testkit.EventuallyWithin(t, waitTimeout, "the request lines in stdout", func() bool {
		out := taskLog(tt, "stdout")
		return strings.Contains(out, "GET /index.html") && strings.Contains(out, "GET /missing.html")
	})
	must.StrContains(t, taskLog(tt, "stdout"), "#Fields:")

	// The app's own log reaches stderr: new lines of the old file and new files.
	appendFile(t, filepath.Join(tt.taskDir(), "local", "logs", "stdout_old.log"), "appended after the start\n")
	appendFile(t, filepath.Join(tt.taskDir(), "local", "logs", "stdout_1234.log"), "Now listening on: http://127.0.0.1\n")
	testkit.EventuallyWithin(t, waitTimeout, "the app log lines in stderr", func() bool {
		errLog := taskLog(tt, "stderr")
		return strings.Contains(errLog, "appended after the start") && strings.Contains(errLog, "Now listening on")
	})
	must.StrNotContains(t, taskLog(tt, "stderr"), "written before the start")
	must.NoError(t, h.DestroyTask(tt.cfg.ID, true))
}
