package driver

import (
	"fmt"
	"time"
)

// noteServiceStart records when the web server's service started, as a
// fingerprint read it (ps.ServerInfo.ServiceStartTime). When it differs
// from the time seen before, the service restarted in between (IIS: WAS;
// iissim: its service process): every running task gets an event saying
// so, since its site was down and its workers are new, and its monitor
// polls at once. The first time seen, and a backend that does not report
// it (zero), only set the baseline.
func (d *Driver) noteServiceStart(backend string, started time.Time) {
	if started.IsZero() {
		return
	}
	d.serviceLock.Lock()
	prev := d.serviceStart
	d.serviceStart = started
	d.serviceLock.Unlock()
	if prev.IsZero() || prev.Equal(started) {
		return
	}
	msg := fmt.Sprintf("the web server's service (%s) restarted at %s; the task's site was down until then and its pools started again from their configuration, with new worker processes",
		backend, started.UTC().Format(time.RFC3339))
	d.logger.Warn("the web server's service restarted", "backend", backend, "previous_start", prev.UTC().Format(time.RFC3339), "start", started.UTC().Format(time.RFC3339))
	for _, h := range d.tasks.All() {
		if h.isRunning() {
			h.emit(msg)
			h.refresh()
		}
	}
}
