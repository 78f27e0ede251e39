package main

import (
	"fmt"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/nomad-iis/nomad-iis/api/client"
)

// progressLineInterval is how often a plain progress line is printed when
// stderr is not a terminal (CI logs).
const progressLineInterval = 5 * time.Second

// reporter shows the progress of one transfer: a bar with bytes, rate and
// ETA when stderr is a terminal and the command acts on one allocation;
// otherwise plain lines (a CI log has no use for carriage returns), every
// few seconds and once at the end.
type reporter struct {
	a     *app
	label string
	verb  string
	bar   *progressbar.ProgressBar
	start time.Time

	mu        sync.Mutex
	done      int64
	total     int64
	lastPrint time.Time
}

// newReporter is a reporter of a transfer of t; bars only when one
// allocation is acted on and stderr is a terminal.
func (a *app) newReporter(t *target, verb string, many bool) *reporter {
	r := &reporter{a: a, label: t.label(), verb: verb, start: time.Now(), lastPrint: time.Now(), total: -1}
	if a.env.progress && !many {
		r.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(a.env.stderr),
			progressbar.OptionSetDescription(verb),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowTotalBytes(true),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionShowCount(),
			progressbar.OptionSpinnerType(14),
			progressbar.OptionFullWidth(),
			progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(a.env.stderr) }),
		)
	}
	return r
}

// update is the client's progress callback.
func (r *reporter) update(done, total int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bar != nil {
		if total != r.total && total > 0 {
			r.bar.ChangeMax64(total)
		}
		r.total = total
		_ = r.bar.Set64(done)
		r.done = done
		return
	}
	r.done, r.total = done, total
	if time.Since(r.lastPrint) >= progressLineInterval {
		r.lastPrint = time.Now()
		r.a.printErr("%s: %s", r.label, r.line())
	}
}

// progress is update as a client.Progress.
func (r *reporter) progress() client.Progress { return r.update }

// finish ends the bar, or prints the last line of a successful transfer.
func (r *reporter) finish(ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bar != nil {
		if ok {
			_ = r.bar.Finish()
		} else {
			_ = r.bar.Exit()
			fmt.Fprintln(r.a.env.stderr)
		}
		return
	}
	if ok {
		r.a.printErr("%s: %s", r.label, r.line())
	}
}

// line is "<verb> 12.0 MiB of 40.0 MiB (30%) in 3s, 4.0 MiB/s".
func (r *reporter) line() string {
	el := time.Since(r.start)
	s := r.verb + " " + humanBytes(r.done)
	if r.total > 0 {
		s += fmt.Sprintf(" of %s (%d%%)", humanBytes(r.total), r.done*100/r.total)
	}
	rate := ""
	if el > 0 {
		rate = ", " + humanBytes(int64(float64(r.done)/el.Seconds())) + "/s"
	}
	return s + " in " + el.Round(100*time.Millisecond).String() + rate
}
