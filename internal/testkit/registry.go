package testkit

import (
	"context"
	"sync"

	"github.com/nomad-iis/nomad-iis/internal/task"
	"github.com/nomad-iis/nomad-iis/ps"
)

// Registry is a fixed list of tasks with the methods of the Management
// API's Registry (Lookup, List, Emit), for tests and benchmarks that run
// the API without a driver. It records the task events it is sent.
type Registry struct {
	// mu guards tasks and events.
	mu sync.Mutex
	// tasks are the tasks the registry knows.
	tasks []task.Info
	// events holds each event sent, as "<task id>: <message>".
	events []string
}

// NewRegistry returns a registry of tasks.
func NewRegistry(tasks ...task.Info) *Registry {
	return &Registry{tasks: append([]task.Info(nil), tasks...)}
}

// Lookup finds the task of an allocation by task name.
func (r *Registry) Lookup(allocID, taskName string) (task.Info, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, t := range r.tasks {
		if t.AllocID == allocID && t.TaskName == taskName {
			return t, true
		}
	}
	return task.Info{}, false
}

// List returns a copy of the tasks.
func (r *Registry) List() []task.Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]task.Info(nil), r.tasks...)
}

// Update replaces the task of the same allocation and task name with t, as
// the driver's view changes when a task is recovered or its bindings move.
// It reports whether there was such a task.
func (r *Registry) Update(t task.Info) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.tasks {
		if r.tasks[i].AllocID == t.AllocID && r.tasks[i].TaskName == t.TaskName {
			r.tasks[i] = t
			return true
		}
	}
	return false
}

// Remove forgets the task of an allocation and task name, as the driver
// does when the task ends. It reports whether there was such a task.
func (r *Registry) Remove(allocID, taskName string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range r.tasks {
		if r.tasks[i].AllocID == allocID && r.tasks[i].TaskName == taskName {
			r.tasks = append(r.tasks[:i], r.tasks[i+1:]...)
			return true
		}
	}
	return false
}

// Emit records a task event.
func (r *Registry) Emit(taskID, message string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, taskID+": "+message)
}

// Events returns the events recorded so far, oldest first.
func (r *Registry) Events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...)
}

// DownIIS is an IIS backend that is down, as the driver's client is before
// the driver has its configuration: every call the Management API makes
// fails with a ps.KindUnavailable error.
type DownIIS struct{}

// errDown is DownIIS's answer to every call.
var errDown = &ps.Error{Kind: ps.KindUnavailable, Message: "the iis driver has no configuration yet"}

// GetAppPools fails: the backend is down.
func (DownIIS) GetAppPools(context.Context, ...string) ([]ps.AppPool, error) { return nil, errDown }

// StartAppPool fails: the backend is down.
func (DownIIS) StartAppPool(context.Context, string) (*ps.AppPool, error) { return nil, errDown }

// StopAppPool fails: the backend is down.
func (DownIIS) StopAppPool(context.Context, string, int64) (*ps.AppPool, error) {
	return nil, errDown
}

// RecycleAppPool fails: the backend is down.
func (DownIIS) RecycleAppPool(context.Context, string) (*ps.AppPool, error) { return nil, errDown }

// GetManagedResources fails: the backend is down.
func (DownIIS) GetManagedResources(context.Context) (*ps.ManagedResources, error) {
	return nil, errDown
}

// GetExtensions fails: the backend is down.
func (DownIIS) GetExtensions(context.Context) (*ps.Extensions, error) { return nil, errDown }

// GetWebsite fails: the backend is down.
func (DownIIS) GetWebsite(context.Context, string) (*ps.Website, error) { return nil, errDown }

// SwitchApplicationVersion fails: the backend is down.
func (DownIIS) SwitchApplicationVersion(context.Context, *ps.SwitchApplicationVersionArgs) (*ps.SwitchedApplicationVersion, error) {
	return nil, errDown
}
