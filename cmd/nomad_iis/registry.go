package main

import (
	"github.com/nomad-iis/nomad-iis/api"
	"github.com/nomad-iis/nomad-iis/driver"
)

// registry shows the driver's tasks to the Management API.
type registry struct {
	d *driver.Driver
}

var (
	_ api.Registry = registry{}
	_ api.IIS      = (*driver.PoolClient)(nil)
)

// Lookup finds the task of an allocation by task name.
func (r registry) Lookup(allocID, taskName string) (api.Task, bool) {
	ti, ok := r.d.LookupTask(allocID, taskName)
	if !ok {
		return api.Task{}, false
	}
	return apiTask(ti), true
}

// List returns every task the driver runs.
func (r registry) List() []api.Task {
	tasks := r.d.Tasks()
	out := make([]api.Task, 0, len(tasks))
	for _, ti := range tasks {
		out = append(out, apiTask(ti))
	}
	return out
}

// Emit records a task event.
func (r registry) Emit(taskID, message string) {
	r.d.EmitTaskEvent(taskID, message, nil)
}

// apiTask converts the driver's description of a task.
func apiTask(ti driver.TaskInfo) api.Task {
	return api.Task{
		TaskID:         ti.TaskID,
		AllocID:        ti.AllocID,
		TaskName:       ti.TaskName,
		TaskGroup:      ti.TaskGroup,
		Namespace:      ti.Namespace,
		JobID:          ti.JobID,
		JobName:        ti.JobName,
		TaskDir:        ti.TaskDir,
		SiteName:       ti.SiteName,
		OwnsSite:       ti.OwnsSite,
		TargetWebsite:  ti.TargetWebsite,
		AppPools:       ti.AppPools,
		DefaultAppPool: ti.DefaultAppPool,
		Bindings:       ti.Bindings,
		Recovered:      ti.Recovered,
		StartedAt:      ti.StartedAt,
	}
}
