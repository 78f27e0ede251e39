package launcher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/nomad/api"
)

// taskStateRunning is a task's state while it runs (the api package has no
// constant for task states).
const taskStateRunning = "running"

// RegisterJobFile parses an HCL job file on the agent and registers it.
func (c *Cluster) RegisterJobFile(path string) (*api.Job, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read job file: %w", err)
	}
	job, err := c.RegisterJobHCL(string(src))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return job, nil
}

// RegisterJobHCL parses an HCL job on the agent and registers it.
func (c *Cluster) RegisterJobHCL(src string) (*api.Job, error) {
	job, err := c.nomad.Jobs().ParseHCLOpts(&api.JobsParseRequest{JobHCL: src, Canonicalize: true})
	if err != nil {
		return nil, fmt.Errorf("parse job: %w", err)
	}
	if _, _, err := c.nomad.Jobs().Register(job, nil); err != nil {
		return nil, fmt.Errorf("register job %q: %w", *job.ID, err)
	}
	return job, nil
}

// WaitRunning waits until the job has an allocation whose tasks all run, and
// returns it. It fails early when the allocation fails or cannot be placed,
// with the task events or placement failures in the error.
func (c *Cluster) WaitRunning(ctx context.Context, jobID string) (*api.Allocation, error) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	status := "no allocation yet"
	for {
		alloc, done, err := c.allocState(jobID)
		if err != nil {
			return nil, err
		}
		if done {
			c.remember(alloc.ID)
			return alloc, nil
		}
		if alloc != nil {
			status = fmt.Sprintf("allocation %s is %s%s", alloc.ID, alloc.ClientStatus, FormatTaskEvents(alloc))
		} else if msg := c.placementFailure(jobID); msg != "" {
			status = msg
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("job %q is not running: %s: %w", jobID, status, ctx.Err())
		case <-tick.C:
		}
	}
}

// allocState returns the job's newest allocation and whether all its tasks
// run; a failed allocation is an error.
func (c *Cluster) allocState(jobID string) (*api.Allocation, bool, error) {
	stubs, _, err := c.nomad.Jobs().Allocations(jobID, false, nil)
	if err != nil {
		return nil, false, fmt.Errorf("allocations of %q: %w", jobID, err)
	}
	if len(stubs) == 0 {
		return nil, false, nil
	}
	newest := slices.MaxFunc(stubs, func(x, y *api.AllocationListStub) int { return int(x.CreateIndex) - int(y.CreateIndex) })
	alloc, _, err := c.nomad.Allocations().Info(newest.ID, nil)
	if err != nil {
		return nil, false, fmt.Errorf("allocation %s: %w", newest.ID, err)
	}
	c.remember(alloc.ID)
	switch alloc.ClientStatus {
	case api.AllocClientStatusFailed, api.AllocClientStatusLost:
		return alloc, false, fmt.Errorf("allocation %s of %q %s%s", alloc.ID, jobID, alloc.ClientStatus, FormatTaskEvents(alloc))
	case api.AllocClientStatusRunning:
		if len(alloc.TaskStates) == 0 {
			return alloc, false, nil
		}
		for _, ts := range alloc.TaskStates {
			if ts.State != taskStateRunning {
				return alloc, false, nil
			}
		}
		return alloc, true, nil
	}
	return alloc, false, nil
}

// placementFailure describes why the scheduler could not place the job, or
// returns "".
func (c *Cluster) placementFailure(jobID string) string {
	evals, _, err := c.nomad.Jobs().Evaluations(jobID, nil)
	if err != nil {
		return ""
	}
	for _, e := range evals {
		for tg, m := range e.FailedTGAllocs {
			return fmt.Sprintf("group %q cannot be placed: %d nodes evaluated, filtered %v, exhausted %v",
				tg, m.NodesEvaluated, m.ConstraintFiltered, m.DimensionExhausted)
		}
	}
	return ""
}

// FormatTaskEvents lists each task's events, one per line, for messages.
func FormatTaskEvents(alloc *api.Allocation) string {
	var b strings.Builder
	for name, ts := range alloc.TaskStates {
		for _, e := range ts.Events {
			msg := e.DisplayMessage
			if msg == "" {
				msg = e.Message
			}
			fmt.Fprintf(&b, "\n  %s: %s: %s", name, e.Type, msg)
		}
	}
	return b.String()
}

// remember records an allocation this agent ran, for Stop's leftover check.
func (c *Cluster) remember(id string) {
	c.allocsLock.Lock()
	defer c.allocsLock.Unlock()
	if !slices.Contains(c.allocIDs, id) {
		c.allocIDs = append(c.allocIDs, id)
	}
}

// StopJob stops a job, waits until its allocations have stopped (the driver
// has removed their sites and pools by then), garbage collects them on the
// client, which removes their directories, and purges the job. The job is
// purged last: a purge first would drop the allocations from the server's
// state before the client has stopped them.
func (c *Cluster) StopJob(ctx context.Context, jobID string) error {
	stubs, _, err := c.nomad.Jobs().Allocations(jobID, true, nil)
	if err != nil {
		return fmt.Errorf("allocations of %q: %w", jobID, err)
	}
	if _, _, err := c.nomad.Jobs().Deregister(jobID, false, nil); err != nil {
		return fmt.Errorf("stop job %q: %w", jobID, err)
	}
	var errs []error
	for _, s := range stubs {
		c.remember(s.ID)
		if err := c.waitAllocStopped(ctx, s.ID); err != nil {
			errs = append(errs, err)
		}
	}
	if _, _, err := c.nomad.Jobs().Deregister(jobID, true, nil); err != nil {
		errs = append(errs, fmt.Errorf("purge job %q: %w", jobID, err))
	}
	return errors.Join(errs...)
}

// waitAllocStopped waits until an allocation is terminal on the client, then
// has the client garbage collect it.
func (c *Cluster) waitAllocStopped(ctx context.Context, id string) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		alloc, _, err := c.nomad.Allocations().Info(id, nil)
		if err != nil {
			return fmt.Errorf("allocation %s: %w", id, err)
		}
		if alloc.ClientTerminalStatus() {
			// The endpoint answers with an empty body, which the api
			// package's JSON decoding reports as io.EOF.
			if err := c.nomad.Allocations().GC(alloc, nil); err != nil && !errors.Is(err, io.EOF) && !alreadyCollected(err) {
				return fmt.Errorf("garbage collect allocation %s: %w", id, err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("allocation %s is still %s: %w%s", id, alloc.ClientStatus, ctx.Err(), FormatTaskEvents(alloc))
		case <-tick.C:
		}
	}
}

// alreadyCollected reports whether err is the answer of a Nomad 1.6 client
// to the garbage collection of a terminal allocation it has already
// removed (an earlier run of the same job ID, say): a 500 saying there is no
// such allocation. Newer agents answer such a request with success.
func alreadyCollected(err error) bool {
	var unexpected api.UnexpectedResponseError
	return errors.As(err, &unexpected) && unexpected.StatusCode() == http.StatusInternalServerError &&
		strings.Contains(unexpected.Body(), "No such allocation on client")
}

// StopAllJobs stops every job registered on the agent, as StopJob does.
func (c *Cluster) StopAllJobs(ctx context.Context) error {
	jobs, _, err := c.nomad.Jobs().List(nil)
	if err != nil {
		return fmt.Errorf("list jobs: %w", err)
	}
	var errs []error
	for _, j := range jobs {
		if err := c.StopJob(ctx, j.ID); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// AllocPort returns the host port Nomad allocated for a port label of the
// allocation's group network.
func AllocPort(alloc *api.Allocation, label string) (int, error) {
	if alloc.AllocatedResources != nil {
		for _, p := range alloc.AllocatedResources.Shared.Ports {
			if p.Label == label {
				return p.Value, nil
			}
		}
	}
	return 0, fmt.Errorf("allocation %s has no port %q", alloc.ID, label)
}
