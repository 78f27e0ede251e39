package api

import (
	"context"
	"net/http"
	"time"

	"github.com/nomad-iis/nomad-iis/ps"
)

// statusResponse is the body of …/status. The fields of nomad-iis 0.20
// (allocId, taskName, defaultApplicationPool, applicationPools with name,
// status and isWorkerProcessRunning) keep their names and meaning; the
// rest is added.
type statusResponse struct {
	AllocID                string       `json:"allocId"`
	TaskName               string       `json:"taskName"`
	Namespace              string       `json:"namespace"`
	JobName                string       `json:"jobName"`
	SiteName               string       `json:"siteName,omitempty"`
	DefaultApplicationPool *poolStatus  `json:"defaultApplicationPool"`
	ApplicationPools       []poolStatus `json:"applicationPools"`
	// Deployments are the versions of the application directories deployed
	// with …/deploy (the current one and those kept for a rollback).
	Deployments []deploymentStatus `json:"deployments"`
}

type poolStatus struct {
	// Name is the pool's alias in the job file.
	Name    string `json:"name"`
	IISName string `json:"iisName"`
	// Status is Starting, Started, Stopping, Stopped or Unknown (also for a
	// pool that no longer exists).
	Status                 string          `json:"status"`
	IsWorkerProcessRunning bool            `json:"isWorkerProcessRunning"`
	StartMode              string          `json:"startMode,omitempty"`
	WorkerProcesses        []workerProcess `json:"workerProcesses"`
}

type workerProcess struct {
	ProcessID int       `json:"processId"`
	State     string    `json:"state"`
	StartTime time.Time `json:"startTime"`
	// MemoryBytes is the resident set (the working set on Windows);
	// absent when the process could not be read.
	MemoryBytes        *uint64 `json:"memoryBytes,omitempty"`
	VirtualMemoryBytes *uint64 `json:"virtualMemoryBytes,omitempty"`
	// CPUPercent is measured since the previous sample (100 = one core).
	CPUPercent *float64 `json:"cpuPercent,omitempty"`
	CPUSeconds *float64 `json:"cpuSeconds,omitempty"`
}

// handleStatus serves GET …/status.
func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request, c *call) error {
	pools, _ := taskPools(c.task, "")
	names := make([]string, len(pools))
	for i, p := range pools {
		names[i] = p.Name
	}
	states, err := s.status.get(r.Context(), c.task.TaskID, func(ctx context.Context) ([]ps.AppPool, error) {
		got, err := s.iis.GetAppPools(ctx, names...)
		if got == nil && err == nil {
			got = []ps.AppPool{}
		}
		return got, err
	})
	if err != nil {
		return err
	}
	byName := make(map[string]ps.AppPool, len(states))
	for _, st := range states {
		byName[st.Name] = st
	}
	res := statusResponse{
		AllocID: c.task.AllocID, TaskName: c.task.TaskName, Namespace: c.task.Namespace,
		JobName: c.task.JobName, SiteName: c.task.SiteName,
		ApplicationPools: make([]poolStatus, 0, len(pools)),
	}
	for _, p := range pools {
		st := s.poolStatus(r.Context(), p, byName)
		res.ApplicationPools = append(res.ApplicationPools, st)
		if p.Alias == c.task.DefaultAppPool {
			res.DefaultApplicationPool = &st
		}
	}
	res.Deployments = s.deploymentsOf(r.Context(), c.task)
	return writeJSON(w, res)
}

func (s *Server) poolStatus(ctx context.Context, p poolRef, byName map[string]ps.AppPool) poolStatus {
	out := poolStatus{Name: p.Alias, IISName: p.Name, Status: ps.StateUnknown, WorkerProcesses: []workerProcess{}}
	st, ok := byName[p.Name]
	if !ok {
		return out
	}
	out.Status, out.StartMode = st.State, st.StartMode
	for _, wp := range st.WorkerProcesses {
		if wp.State == "Starting" || wp.State == "Running" {
			out.IsWorkerProcessRunning = true
		}
		o := workerProcess{ProcessID: wp.ProcessID, State: wp.State, StartTime: wp.StartTime}
		if sm, ok := s.procs.sample(ctx, wp.ProcessID); ok {
			o.MemoryBytes, o.VirtualMemoryBytes = &sm.MemoryBytes, &sm.VirtualMemoryBytes
			o.CPUPercent, o.CPUSeconds = &sm.CPUPercent, &sm.CPUSeconds
		}
		out.WorkerProcesses = append(out.WorkerProcesses, o)
	}
	return out
}
