package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"time"
)

// TaskStart runs the "taskstart" mode in a child process and turns its
// result into rows.
func TaskStart(o Options) ([]Row, error) {
	stateDir, err := os.MkdirTemp(o.WorkDir, "taskstart-state-")
	if err != nil {
		return nil, err
	}
	workDir, err := os.MkdirTemp(o.WorkDir, "taskstart-allocs-")
	if err != nil {
		return nil, err
	}
	seq, conc := 20, 50
	if o.Quick {
		seq, conc = 5, 10
	}
	var out bytes.Buffer
	cmd := exec.Command(o.Exe, "taskstart", "--state-dir", stateDir, "--work-dir", workDir,
		"--sequential", fmt.Sprint(seq), "--concurrent", fmt.Sprint(conc))
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("taskstart: %w", err)
	}
	var res TaskStartResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("taskstart output %q: %w", out.String(), err)
	}
	o.logf("task start: %v, %d at once in %v, rss %d", res.Sequential, res.Concurrent, res.ConcurrentTotal, res.RSS)
	p50, p95 := Percentile(res.Sequential, 50), Percentile(res.Sequential, 95)
	return []Row{
		{ID: "6", What: fmt.Sprintf("Task start: StartTask to first HTTP 200, %d tasks one after another", len(res.Sequential)),
			Ours: fmt.Sprintf("p50 %s, p95 %s", Dur(p50), Dur(p95)), Target: "none (reported)", NoTarget: true,
			Note: "The driver in a process of its own (as Nomad runs the plugin), on iissim: StartTask returns once the site, " +
				"pool and bindings exist; the time runs until the site's first 200 (polled every 2 ms). " +
				"On Windows, IIS and PowerShell set the pace instead."},
		{ID: "6", What: fmt.Sprintf("Task start: %d tasks started at once on one node", res.Concurrent),
			Ours: fmt.Sprintf("all answering 200 after %s; plugin RSS %s (%s with no task, peak %s)",
				Dur(res.ConcurrentTotal.Round(time.Millisecond)), MiB(res.RSS), MiB(res.BaseRSS), MiB(res.PeakRSS)),
			Target: "none (reported)", NoTarget: true},
	}, nil
}
