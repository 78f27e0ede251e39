package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/nomad-iis/nomad-iis/ps"
)

// poolRef is one of a task's pools: the alias of the job file and the IIS name.
type poolRef struct {
	Alias string
	Name  string
}

// taskPools returns the task's pools, the default one first, or only the
// one named by alias (an alias of the job file, or the IIS name).
func taskPools(t Task, alias string) ([]poolRef, error) {
	var all []poolRef
	for a, n := range t.AppPools {
		all = append(all, poolRef{Alias: a, Name: n})
	}
	sort.Slice(all, func(i, j int) bool {
		if (all[i].Alias == t.DefaultAppPool) != (all[j].Alias == t.DefaultAppPool) {
			return all[i].Alias == t.DefaultAppPool
		}
		return all[i].Alias < all[j].Alias
	})
	if alias == "" {
		return all, nil
	}
	for _, p := range all {
		if p.Alias == alias || p.Name == alias {
			return []poolRef{p}, nil
		}
	}
	for _, p := range all {
		if strings.EqualFold(p.Alias, alias) || strings.EqualFold(p.Name, alias) {
			return []poolRef{p}, nil
		}
	}
	names := make([]string, len(all))
	for i, p := range all {
		names[i] = p.Alias
	}
	return nil, apiErr(http.StatusNotFound, "the task has no application pool %q; its pools are: %s", alias, strings.Join(names, ", "))
}

// lifecycleResult is the body of start, stop and recycle.
type lifecycleResult struct {
	AllocID          string       `json:"allocId"`
	TaskName         string       `json:"taskName"`
	Operation        string       `json:"operation"`
	ApplicationPools []poolResult `json:"applicationPools"`
}

type poolResult struct {
	Name    string `json:"name"`
	IISName string `json:"iisName"`
	Status  string `json:"status"`
}

// handleStart serves PUT …/start[?appPoolName=].
func (s *Server) handleStart(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.lifecycle(w, r, c, "start")
}

// handleStop serves PUT …/stop[?appPoolName=]: it returns once the workers
// have exited (bounded by Config.PoolStopTimeout).
func (s *Server) handleStop(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.lifecycle(w, r, c, "stop")
}

// handleRecycle serves PUT …/recycle[?appPoolName=].
func (s *Server) handleRecycle(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.lifecycle(w, r, c, "recycle")
}

var pastTense = map[string]string{"start": "started", "stop": "stopped", "recycle": "recycled"}

func (s *Server) lifecycle(w http.ResponseWriter, r *http.Request, c *call, op string) error {
	alias := r.URL.Query().Get("appPoolName")
	pools, err := taskPools(c.task, alias)
	if err != nil {
		return err
	}
	c.auditPath, c.auditNote = alias, op
	release, err := s.locks.lockTask(c.task.TaskID, op+" application pools")
	if err != nil {
		return err
	}
	defer release()
	defer s.status.invalidate(c.task.TaskID)
	// Finish what was asked even if the client goes away.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.cfg.PoolStopTimeout+s.cfg.RequestTimeout)
	defer cancel()
	res := lifecycleResult{AllocID: c.task.AllocID, TaskName: c.task.TaskName, Operation: op}
	for _, p := range pools {
		var pool *ps.AppPool
		switch op {
		case "start":
			pool, err = s.iis.StartAppPool(ctx, p.Name)
		case "stop":
			pool, err = s.iis.StopAppPool(ctx, p.Name, s.cfg.PoolStopTimeout.Milliseconds())
		case "recycle":
			pool, err = s.iis.RecycleAppPool(ctx, p.Name)
		}
		if err != nil {
			return fmt.Errorf("%s application pool %q: %w", op, p.Alias, err)
		}
		s.reg.Emit(c.task.TaskID, fmt.Sprintf("ApplicationPool %s %s (Management API)", p.Alias, pastTense[op]))
		res.ApplicationPools = append(res.ApplicationPools, poolResult{Name: p.Alias, IISName: p.Name, Status: pool.State})
	}
	return writeJSON(w, res)
}

// withPoolsStopped stops the task's running pools (waiting for their
// workers to exit), runs fn, and starts again the pools it stopped, whatever
// fn returned. Pools that were stopped before stay stopped. It returns the
// aliases of the pools it stopped.
func (s *Server) withPoolsStopped(ctx context.Context, t Task, why string, fn func() error) ([]string, error) {
	pools, _ := taskPools(t, "")
	names := make([]string, len(pools))
	for i, p := range pools {
		names[i] = p.Name
	}
	states, err := s.iis.GetAppPools(ctx, names...)
	if err != nil {
		return nil, fmt.Errorf("read the application pools' state: %w", err)
	}
	running := map[string]bool{}
	for _, st := range states {
		running[st.Name] = st.State == ps.StateStarted || st.State == ps.StateStarting
	}
	defer s.status.invalidate(t.TaskID)
	var stopped []poolRef
	restart := func() error {
		var errs []error
		for _, p := range stopped {
			if _, err := s.iis.StartAppPool(ctx, p.Name); err != nil {
				errs = append(errs, fmt.Errorf("start application pool %q again: %w", p.Alias, err))
				continue
			}
			s.reg.Emit(t.TaskID, fmt.Sprintf("ApplicationPool %s started (Management API, after %s)", p.Alias, why))
		}
		return errors.Join(errs...)
	}
	for _, p := range pools {
		if !running[p.Name] {
			continue
		}
		if _, err := s.iis.StopAppPool(ctx, p.Name, s.cfg.PoolStopTimeout.Milliseconds()); err != nil {
			return nil, errors.Join(fmt.Errorf("stop application pool %q before the %s (nothing was changed): %w", p.Alias, why, err), restart())
		}
		stopped = append(stopped, p)
		s.reg.Emit(t.TaskID, fmt.Sprintf("ApplicationPool %s stopped (Management API, for %s)", p.Alias, why))
	}
	aliases := make([]string, len(stopped))
	for i, p := range stopped {
		aliases[i] = p.Alias
	}
	fnErr := fn()
	if err := restart(); err != nil {
		if fnErr == nil {
			return aliases, &APIError{HTTPStatus: http.StatusInternalServerError, Err: err,
				Message: fmt.Sprintf("the %s was applied, but an application pool did not start again: %v", why, err)}
		}
		return aliases, errors.Join(fnErr, err)
	}
	return aliases, fnErr
}
