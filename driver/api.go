package driver

import (
	"context"
	"strings"
	"time"

	"github.com/nomad-iis/nomad-iis/ps"
)

// This file is what the Management API sees of the driver: the IIS client,
// the tasks and their IIS objects, task events, and the procdump settings.

// TaskInfo describes one task the driver runs.
type TaskInfo struct {
	TaskID    string
	AllocID   string
	TaskName  string
	TaskGroup string
	Namespace string
	JobID     string
	JobName   string
	// TaskDir is the task's directory (<alloc dir>/<task>).
	TaskDir string
	// SiteName is the site the task owns, or its target website.
	SiteName string
	// OwnsSite is false for a task in a target website.
	OwnsSite bool
	// TargetWebsite is the target website, "" for a task that owns its site.
	TargetWebsite string
	// AppPools maps each pool alias to its IIS name.
	AppPools map[string]string
	// DefaultAppPool is the alias of the site's default pool.
	DefaultAppPool string
	// Bindings are the site's bindings with resolved ports.
	Bindings []ps.BindingSpec
	// ApplicationAliases are the task's applications ("" is the root).
	ApplicationAliases []string
	// Running is false once the task exited.
	Running bool
	// Recovered is true for a task re-attached after a plugin restart.
	Recovered bool
	// StartedAt is when the task was started.
	StartedAt time.Time
}

// IIS returns the typed client of the backend, nil before SetConfig.
func (d *Driver) IIS() *ps.IIS {
	_, iis := d.backend()
	return iis
}

// Tasks lists the tasks the driver runs, ordered by task id.
func (d *Driver) Tasks() []TaskInfo {
	handles := d.tasks.All()
	out := make([]TaskInfo, 0, len(handles))
	for _, h := range handles {
		out = append(out, h.info())
	}
	return out
}

// LookupTask finds the task taskName of allocation allocID.
func (d *Driver) LookupTask(allocID, taskName string) (TaskInfo, bool) {
	for _, h := range d.tasks.All() {
		if h.cfg.AllocID == allocID && h.cfg.Name == taskName {
			return h.info(), true
		}
	}
	return TaskInfo{}, false
}

// MarkPoolsStopped records that the task's pools were stopped (true) or
// started (false) on purpose, by the Management API: while marked, a
// stopped pool does not end the task. It reports whether the task is known.
func (d *Driver) MarkPoolsStopped(taskID string, stopped bool) bool {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return false
	}
	h.setHeld(h.state.poolNames(), stopped)
	h.refresh()
	return true
}

// ProcdumpConfig returns the plugin's procdump block, nil when there is none.
func (d *Driver) ProcdumpConfig() *ProcdumpConfig {
	s, _ := d.backend()
	if s == nil || s.Procdump == nil {
		return nil
	}
	pd := *s.Procdump
	return &pd
}

// info is the TaskInfo of h.
func (h *taskHandle) info() TaskInfo {
	pools := make(map[string]string, len(h.state.AppPools))
	for k, v := range h.state.AppPools {
		pools[k] = v
	}
	ti := TaskInfo{
		TaskID:             h.cfg.ID,
		AllocID:            h.cfg.AllocID,
		TaskName:           h.cfg.Name,
		TaskGroup:          h.cfg.TaskGroupName,
		Namespace:          h.cfg.Namespace,
		JobID:              h.cfg.JobID,
		JobName:            h.cfg.JobName,
		TaskDir:            h.state.TaskDir,
		SiteName:           h.state.SiteName,
		OwnsSite:           h.state.OwnsSite,
		AppPools:           pools,
		DefaultAppPool:     h.state.DefaultAppPool,
		Bindings:           append([]ps.BindingSpec(nil), h.state.Bindings...),
		ApplicationAliases: append([]string(nil), h.state.ApplicationAliases...),
		Running:            h.isRunning(),
		Recovered:          h.recovered,
		StartedAt:          h.state.StartedAt,
	}
	if !h.state.OwnsSite {
		ti.TargetWebsite = h.state.SiteName
	}
	return ti
}

// PoolClient is the backend client the Management API should use for pool
// lifecycle: it is the driver's current client, and it tells the driver
// about the stops and starts it makes, so that a pool the API stopped on
// purpose (PUT .../stop, or an upload that stops the pools) does not end the
// task as a stop from outside Nomad would.
type PoolClient struct {
	d *Driver
}

// PoolClient returns the Management API's pool lifecycle client.
func (d *Driver) PoolClient() *PoolClient { return &PoolClient{d: d} }

// client is the driver's current backend client.
func (c *PoolClient) client() (*ps.IIS, error) {
	if iis := c.d.IIS(); iis != nil {
		return iis, nil
	}
	return nil, &ps.Error{Kind: ps.KindUnavailable, Message: "the iis driver has no configuration yet"}
}

// owner is the handle of the task that owns pool name, and the pool's name
// as the task spells it: IIS names ignore case, the task's hold on a pool
// (see taskHandle.held) does not.
func (c *PoolClient) owner(name string) (*taskHandle, string) {
	for _, h := range c.d.tasks.All() {
		for _, n := range h.state.AppPools {
			if strings.EqualFold(n, name) {
				return h, n
			}
		}
	}
	return nil, ""
}

// GetAppPools reports the named pools.
func (c *PoolClient) GetAppPools(ctx context.Context, names ...string) ([]ps.AppPool, error) {
	iis, err := c.client()
	if err != nil {
		return nil, err
	}
	return iis.GetAppPools(ctx, names...)
}

// StopAppPool stops a pool on purpose: its task keeps running.
func (c *PoolClient) StopAppPool(ctx context.Context, name string, waitMs int64) (*ps.AppPool, error) {
	iis, err := c.client()
	if err != nil {
		return nil, err
	}
	h, own := c.owner(name)
	if h != nil {
		h.setHeld([]string{own}, true)
	}
	p, err := iis.StopAppPool(ctx, name, waitMs)
	if h != nil {
		h.refresh()
	}
	return p, err
}

// StartAppPool starts a pool; from then on a stop from outside ends its task again.
func (c *PoolClient) StartAppPool(ctx context.Context, name string) (*ps.AppPool, error) {
	iis, err := c.client()
	if err != nil {
		return nil, err
	}
	p, err := iis.StartAppPool(ctx, name)
	if h, own := c.owner(name); h != nil && err == nil {
		h.setHeld([]string{own}, false)
		h.refresh()
	}
	return p, err
}

// RecycleAppPool recycles a pool.
func (c *PoolClient) RecycleAppPool(ctx context.Context, name string) (*ps.AppPool, error) {
	iis, err := c.client()
	if err != nil {
		return nil, err
	}
	return iis.RecycleAppPool(ctx, name)
}

// GetManagedResources lists the driver-made sites and pools.
func (c *PoolClient) GetManagedResources(ctx context.Context) (*ps.ManagedResources, error) {
	iis, err := c.client()
	if err != nil {
		return nil, err
	}
	return iis.GetManagedResources(ctx)
}

// GetExtensions lists the admin extensions the backend loaded.
func (c *PoolClient) GetExtensions(ctx context.Context) (*ps.Extensions, error) {
	iis, err := c.client()
	if err != nil {
		return nil, err
	}
	return iis.GetExtensions(ctx)
}
