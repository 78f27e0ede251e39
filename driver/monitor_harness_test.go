//go:build !windows

package driver

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/shoenig/test/must"
)

// TestMonitor_WorkerCrashLeavesEvent: a worker process killed while its
// pool serves is reported as a task event; the task keeps running.
func TestMonitor_WorkerCrashLeavesEvent(t *testing.T) {
	n := newSimNode(t)
	d, h := n.newHarness(t)
	events := collectEvents(t, h)
	tt := newTask(t, h, "crashy", siteHCL, map[string]string{"local/index.html": "ok"})
	startTask(t, h, tt)
	defer func() { _ = h.DestroyTask(tt.cfg.ID, true) }()
	mustGet(t, tt.url("/"), 200) // the OnDemand pool starts its worker

	th, ok := d.tasks.Get(tt.cfg.ID)
	must.True(t, ok)
	pool := th.state.poolNames()[0]
	pids := workerPIDs(poolState(t, d.iis, pool))
	must.SliceLen(t, 1, pids)
	must.NoError(t, syscall.Kill(pids[0], syscall.SIGKILL))
	events.waitEvent(t, "application pool "+pool+": a worker process exited unexpectedly")
	must.True(t, th.isRunning(), must.Sprint("a crashed worker does not end the task"))
	mustGet(t, tt.url("/"), 200) // a new worker serves
}

// TestMonitor_ServiceRestartLeavesEvent: the iissim service killed and
// started again (by the next call) is reported as a task event, from the
// service start time the fingerprint reads.
func TestMonitor_ServiceRestartLeavesEvent(t *testing.T) {
	n := newSimNode(t)
	d, h := n.newHarness(t)
	events := collectEvents(t, h)
	tt := newTask(t, h, "restarted", siteHCL, map[string]string{"local/index.html": "ok"})
	startTask(t, h, tt)
	defer func() { _ = h.DestroyTask(tt.cfg.ID, true) }()
	ctx := context.Background()
	d.buildFingerprint(ctx) // the baseline

	b, err := os.ReadFile(filepath.Join(n.stateDir, "service.pid"))
	must.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	must.NoError(t, err)
	must.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	// The monitor's next poll starts the service again; a fingerprint then
	// sees its new start time.
	testkit.EventuallyWithin(t, waitTimeout, "an event about the restart", func() bool {
		d.buildFingerprint(ctx)
		return events.has("the web server's service (iissim) restarted at")
	})
	th, ok := d.tasks.Get(tt.cfg.ID)
	must.True(t, ok)
	must.True(t, th.isRunning())
	mustGet(t, tt.url("/"), 200)
}
