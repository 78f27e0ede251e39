package driver

import (
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
)

// Task events tell the operator, in `nomad alloc status`, what the driver
// did to a task's IIS objects: every pool and certificate action, every
// setting that was accepted but ignored, every hook that failed.

// taskRef names the task an event is about.
type taskRef struct {
	taskID, taskName, allocID string
}

// refOf is the taskRef of a task config.
func refOf(cfg *drivers.TaskConfig) taskRef {
	return taskRef{taskID: cfg.ID, taskName: cfg.Name, allocID: cfg.AllocID}
}

// emitEvent sends one task event. It never blocks past the driver's
// shutdown, and a failure to deliver is only logged: events are advisory.
func (d *Driver) emitEvent(ref taskRef, message string) {
	err := d.eventer.EmitEvent(&drivers.TaskEvent{
		TaskID:      ref.taskID,
		TaskName:    ref.taskName,
		AllocID:     ref.allocID,
		Timestamp:   time.Now(),
		Message:     message,
		Annotations: map[string]string{},
	})
	if err != nil {
		d.logger.Debug("task event not delivered", "task_id", ref.taskID, "error", err)
	}
}

// emit sends one task event about h.
func (h *taskHandle) emit(message string) {
	h.d.emitEvent(h.ref, message)
}
