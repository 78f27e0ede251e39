//go:build !windows

package driver

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	dtestutil "github.com/hashicorp/nomad/plugins/drivers/testutils"
	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

// eventLog collects the task events a harness streams.
type eventLog struct {
	mu       sync.Mutex
	messages []string
}

// collectEvents records every task event of h until the test ends.
func collectEvents(t *testing.T, h *dtestutil.DriverHarness) *eventLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := h.TaskEvents(ctx)
	must.NoError(t, err)
	l := &eventLog{}
	go func() {
		for ev := range ch {
			l.mu.Lock()
			l.messages = append(l.messages, ev.Message)
			l.mu.Unlock()
		}
	}()
	return l
}

// has reports whether an event message contains s.
func (l *eventLog) has(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.messages {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// waitEvent waits for an event message containing s.
func (l *eventLog) waitEvent(t *testing.T, s string) {
	t.Helper()
	testkit.EventuallyWithin(t, waitTimeout, "event "+s, func() bool { return l.has(s) })
}

// workerPIDs are the PIDs of a pool's workers.
func workerPIDs(p *ps.AppPool) []int {
	var out []int
	for _, w := range p.WorkerProcesses {
		out = append(out, w.ProcessID)
	}
	return out
}

// waitPolled waits until the task's monitor has looked at the pools twice
// after now, so that what it would do about their state is done.
func waitPolled(t *testing.T, d *Driver, taskID string) {
	t.Helper()
	h, ok := d.tasks.Get(taskID)
	must.True(t, ok)
	since := time.Now()
	polls := 0
	var last time.Time
	testkit.EventuallyWithin(t, waitTimeout, "the monitor to poll", func() bool {
		_, _, at := h.lastSeen()
		if at.After(since) && at != last {
			polls++
			last = at
		}
		return polls >= 2 || !h.isRunning()
	})
}

func TestIISDriver_SignalTask(t *testing.T) {
	n := newSimNode(t)
	d, h := n.newHarness(t)
	events := collectEvents(t, h)
	tt := newTask(t, h, "web", `config {
  application_pool {
    start_mode = "AlwaysRunning"
  }
  application { path = "local" }
  binding {
    type       = "http"
    port       = "http"
    ip_address = "127.0.0.1"
  }
}`, map[string]string{"local/index.html": "up"})
	startTask(t, h, tt)
	pool := "nomad-" + tt.cfg.AllocID + "-web"
	testkit.EventuallyWithin(t, waitTimeout, "a worker", func() bool { return len(poolState(t, d.IIS(), pool).WorkerProcesses) == 1 })
	before := workerPIDs(poolState(t, d.IIS(), pool))

	// SIGHUP and RECYCLE recycle: the worker is replaced.
	must.NoError(t, h.SignalTask(tt.cfg.ID, "SIGHUP"))
	events.waitEvent(t, "ApplicationPool recycled: default ("+pool+")")
	testkit.EventuallyWithin(t, waitTimeout, "a new worker", func() bool {
		pids := workerPIDs(poolState(t, d.IIS(), pool))
		return len(pids) == 1 && pids[0] != before[0]
	})
	must.NoError(t, h.SignalTask(tt.cfg.ID, "recycle"))

	// STOP stops the pool; the task keeps running.
	must.NoError(t, h.SignalTask(tt.cfg.ID, "STOP"))
	events.waitEvent(t, "ApplicationPool stopped: default")
	testkit.EventuallyWithin(t, waitTimeout, "the pool to stop", func() bool { return poolState(t, d.IIS(), pool).State == ps.StateStopped })
	mustGet(t, tt.url("/"), 503)
	waitPolled(t, d, tt.cfg.ID)
	status, err := h.InspectTask(tt.cfg.ID)
	must.NoError(t, err)
	must.Eq(t, drivers.TaskStateRunning, status.State)
	must.Eq(t, ps.StateStopped, status.DriverAttributes["AppPool.default.State"])

	// START starts it again.
	must.NoError(t, h.SignalTask(tt.cfg.ID, "START"))
	events.waitEvent(t, "ApplicationPool started: default")
	must.Eq(t, "up", mustGet(t, tt.url("/"), 200))

	// Unknown signals are an error that lists the supported ones.
	must.ErrorContains(t, h.SignalTask(tt.cfg.ID, "SIGUSR1"), `signal "SIGUSR1" is not supported by the iis driver; use SIGHUP or RECYCLE`)

	// SIGKILL removes the site and pools and ends the task, so that the
	// restart policy sees it.
	must.NoError(t, h.SignalTask(tt.cfg.ID, "SIGKILL"))
	res := waitExit(t, h, tt.cfg.ID)
	must.Eq(t, signalKill, res.Signal)
	must.False(t, res.Successful())
	must.SliceEmpty(t, managed(t, d.IIS(), tt.cfg.AllocID))
	must.ErrorContains(t, h.SignalTask(tt.cfg.ID, "START"), "the task has exited")
	must.NoError(t, h.DestroyTask(tt.cfg.ID, true))
}

func TestIISDriver_SignalTask_SIGINT(t *testing.T) {
	n := newSimNode(t)
	d, h := n.newHarness(t)
	tt := newTask(t, h, "web", siteHCL, nil)
	startTask(t, h, tt)
	must.NoError(t, h.SignalTask(tt.cfg.ID, "sigint"))
	res := waitExit(t, h, tt.cfg.ID)
	must.Eq(t, signalInterrupt, res.Signal)
	must.SliceEmpty(t, managed(t, d.IIS(), tt.cfg.AllocID))
	must.NoError(t, h.DestroyTask(tt.cfg.ID, false))
}

func TestIISDriver_PoolClientHoldsStoppedPool(t *testing.T) {
	n := newSimNode(t)
	d, h := n.newHarness(t)
	tt := newTask(t, h, "web", siteHCL, nil)
	startTask(t, h, tt)
	pool := "nomad-" + tt.cfg.AllocID + "-web"
	pc := d.PoolClient()

	// The Management API stops the pool on purpose: the task keeps running.
	owner, _ := pc.owner(pool)
	must.True(t, owner != nil)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	_, err := pc.StopAppPool(ctx, pool, 0)
	must.NoError(t, err)
	waitPolled(t, d, tt.cfg.ID)
	status, err := h.InspectTask(tt.cfg.ID)
	must.NoError(t, err)
	must.Eq(t, drivers.TaskStateRunning, status.State)

	// A pool no task owns holds no task.
	owner, _ = pc.owner("no-such-pool")
	must.False(t, owner != nil)
	must.NoError(t, h.DestroyTask(tt.cfg.ID, true))
}

func TestIISDriver_PoolClient(t *testing.T) {
	n := newSimNode(t)
	d, h := n.newHarness(t)
	tt := newTask(t, h, "web", siteHCL, map[string]string{"local/index.html": "x"})
	startTask(t, h, tt)
	pool := "nomad-" + tt.cfg.AllocID + "-web"
	pc := d.PoolClient()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()

	// A stop through the Management API's client keeps the task running.
	p, err := pc.StopAppPool(ctx, pool, 5000)
	must.NoError(t, err)
	must.Eq(t, ps.StateStopped, p.State)
	waitPolled(t, d, tt.cfg.ID)
	status, err := h.InspectTask(tt.cfg.ID)
	must.NoError(t, err)
	must.Eq(t, drivers.TaskStateRunning, status.State)

	// IIS names ignore case, and so does the hold on a pool stopped on purpose.
	_, err = pc.StartAppPool(ctx, pool)
	must.NoError(t, err)
	_, err = pc.StopAppPool(ctx, strings.ToUpper(pool), 5000)
	must.NoError(t, err)
	waitPolled(t, d, tt.cfg.ID)
	status, err = h.InspectTask(tt.cfg.ID)
	must.NoError(t, err)
	must.Eq(t, drivers.TaskStateRunning, status.State)

	// After a start through it, a stop from outside ends the task again.
	_, err = pc.StartAppPool(ctx, pool)
	must.NoError(t, err)
	mustGet(t, tt.url("/"), 200)
	_, err = d.IIS().StopAppPool(ctx, pool, 0)
	must.NoError(t, err)
	must.Eq(t, exitCodeOutside, waitExit(t, h, tt.cfg.ID).ExitCode)
	must.NoError(t, h.DestroyTask(tt.cfg.ID, true))
}
