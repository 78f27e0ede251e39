package driver

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

func TestExecConfig_AsAgent(t *testing.T) {
	t.Parallel()
	c, err := parseDriver(t, `config {}`)
	must.NoError(t, err)
	must.False(t, c.ExecAsAgent, must.Sprint("exec runs as the pool's identity unless the operator says otherwise"))

	c, err = parseDriver(t, `config { exec_as_agent = true }`)
	must.NoError(t, err)
	must.True(t, c.ExecAsAgent)

	_, err = parseDriver(t, `config { exec_as_agent = "sometimes" }`)
	must.ErrorContains(t, err, "exec_as_agent")
}

func TestMergeEnv(t *testing.T) {
	t.Parallel()
	base := []string{"PATH=/bin", "HOME=/root", "GREETING=from the host", "=C:=C:\\"}
	over := []ps.EnvVar{{Name: "GREETING", Value: "from the job"}, {Name: "TMP", Value: "/alloc/web/tmp"}}
	got := mergeEnv(base, over)
	must.Eq(t, []string{"PATH=/bin", "HOME=/root", "=C:=C:\\", "GREETING=from the job", "TMP=/alloc/web/tmp"}, got)
	must.Eq(t, []string{"A=1"}, mergeEnv([]string{"A=1"}, nil))
}

func TestNewestWorker(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		name    string
		workers []ps.WorkerProcess
		want    int
	}{
		{"none", nil, 0},
		{"one", []ps.WorkerProcess{{ProcessID: 10, StartTime: t0, State: "Running"}}, 10},
		{"newest of an overlapped recycle", []ps.WorkerProcess{
			{ProcessID: 10, StartTime: t0, State: "Running"},
			{ProcessID: 11, StartTime: t0.Add(time.Minute), State: "Running"},
		}, 11},
		{"not a stopping one", []ps.WorkerProcess{
			{ProcessID: 10, StartTime: t0, State: "Running"},
			{ProcessID: 11, StartTime: t0.Add(time.Minute), State: "Stopping"},
		}, 10},
		{"no PID", []ps.WorkerProcess{{ProcessID: 0, StartTime: t0, State: "Running"}}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			must.Eq(t, tc.want, newestWorker(tc.workers))
		})
	}
}

func TestExecFailed(t *testing.T) {
	t.Parallel()
	var buf strings.Builder
	res, err := execFailed(&drivers.ExecOptions{Stderr: nopWriteCloser{&buf}}, errors.New("pool stopped"), exitCannotRun)
	must.NoError(t, err)
	must.Eq(t, exitCannotRun, res.ExitCode)
	must.Eq(t, "nomad-iis: pool stopped\n", buf.String())

	buf.Reset()
	_, err = execFailed(&drivers.ExecOptions{Tty: true, Stderr: nopWriteCloser{&buf}}, errors.New("pool stopped"), exitCannotRun)
	must.NoError(t, err)
	must.Eq(t, "nomad-iis: pool stopped\r\n", buf.String(), must.Sprint("a raw terminal needs the carriage return"))

	_, err = execFailed(&drivers.ExecOptions{}, errors.New("pool stopped"), exitCannotRun)
	must.EqError(t, err, "pool stopped")
}
