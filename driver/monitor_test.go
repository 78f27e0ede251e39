package driver

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

// scriptedIIS answers GetAppPool with a stopped pool and GetWebsite with a
// started site; onGetAppPool runs while the pool read is "in flight".
type scriptedIIS struct {
	pool         string
	onGetAppPool func()
}

func (s *scriptedIIS) Call(_ context.Context, op ps.Op, _, result any) error {
	var v any
	switch op {
	case ps.OpGetAppPool:
		if s.onGetAppPool != nil {
			s.onGetAppPool()
		}
		v = []ps.AppPool{{Name: s.pool, State: ps.StateStopped}}
	case ps.OpGetWebsite:
		v = ps.Website{Name: "nomad-a-app", State: ps.StateStarted}
	default:
		return &ps.Error{Op: op, Kind: ps.KindInternal, Message: "unexpected"}
	}
	b, _ := json.Marshal(v)
	return json.Unmarshal(b, result)
}

func newPollHandle(t *testing.T, iis *scriptedIIS) *taskHandle {
	t.Helper()
	d := New(hclog.NewNullLogger(), Options{})
	t.Cleanup(d.Shutdown)
	state := TaskState{SiteName: "nomad-a-app", OwnsSite: true, AppPools: map[string]string{"default": iis.pool}}
	h := newTaskHandle(d, &drivers.TaskConfig{ID: "a/app/1", AllocID: "a", Name: "app"}, ps.NewIIS(iis), time.Second)
	h.state = state
	return h
}

// The Management API starts a pool it stopped on purpose while a poll is
// reading the pools: the poll saw the pool stopped, but by the time it
// judges, the pool is no longer held. It must not end the task.
func TestTaskHandle_Poll_RacingDeliberateStartDoesNotEndTask(t *testing.T) {
	iis := &scriptedIIS{pool: "nomad-a-app"}
	h := newPollHandle(t, iis)
	h.setHeld([]string{iis.pool}, true) // stopped on purpose
	iis.onGetAppPool = func() { h.setHeld([]string{iis.pool}, false) }
	must.Eq(t, "", h.poll())

	// A later poll that sees the pool stopped with nothing held in between
	// is a stop from outside.
	iis.onGetAppPool = nil
	must.StrContains(t, h.poll(), "was stopped outside Nomad")
}

func TestJudge_RapidFailProtectionSaysWhy(t *testing.T) {
	s := TaskState{SiteName: "nomad-a-app", OwnsSite: true, AppPools: map[string]string{"default": "nomad-a-app"}}
	site := &ps.Website{Name: "nomad-a-app", State: ps.StateStarted}
	stopped := ps.AppPool{Name: "nomad-a-app", State: ps.StateStopped, StopReason: ps.StopReasonRapidFailProtection}
	msg := judge(&s, []ps.AppPool{stopped}, site, nil)
	must.StrContains(t, msg, "application pool nomad-a-app was stopped by rapid-fail protection")
	must.StrNotContains(t, msg, "outside Nomad")

	stopped.StopReason = ""
	must.EqOp(t, "application pool nomad-a-app was stopped outside Nomad", judge(&s, []ps.AppPool{stopped}, site, nil))
}

func TestWorkerCrashEvents(t *testing.T) {
	t.Parallel()
	pool := func(name string, crashes int) ps.AppPool { return ps.AppPool{Name: name, WorkerCrashes: crashes} }
	cases := []struct {
		name      string
		prev, cur []ps.AppPool
		want      []string
	}{
		{"first poll is the baseline", nil, []ps.AppPool{pool("p", 3)}, nil},
		{"no change", []ps.AppPool{pool("p", 3)}, []ps.AppPool{pool("p", 3)}, nil},
		{"one crash", []ps.AppPool{pool("p", 0)}, []ps.AppPool{pool("P", 1)},
			[]string{"application pool P: a worker process exited unexpectedly (it crashed or was killed)"}},
		{"several, per pool", []ps.AppPool{pool("a", 1), pool("b", 0)}, []ps.AppPool{pool("a", 4), pool("b", 0)},
			[]string{"application pool a: 3 worker processes exited unexpectedly (they crashed or were killed)"}},
		{"count started again", []ps.AppPool{pool("p", 5)}, []ps.AppPool{pool("p", 1)},
			[]string{"application pool p: a worker process exited unexpectedly (it crashed or was killed)"}},
		{"count started again at 0", []ps.AppPool{pool("p", 5)}, []ps.AppPool{pool("p", 0)}, nil},
		{"a new pool has no baseline", []ps.AppPool{pool("a", 0)}, []ps.AppPool{pool("a", 0), pool("b", 2)}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			must.Eq(t, c.want, workerCrashEvents(c.prev, c.cur))
		})
	}
}
