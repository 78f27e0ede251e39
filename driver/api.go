package driver

import (
	"context"
	"strings"

	"github.com/nomad-iis/nomad-iis/internal/task"
	"github.com/nomad-iis/nomad-iis/ps"
)

// This file is what the Management API sees of the driver: its tasks and
// their task events (TaskRegistry), its IIS client for pool lifecycle
// (PoolClient), and the procdump settings. The API's interfaces (package
// api) are met here without importing api: a task is a task.Info, the type
// api.Task names.

// IIS returns the typed client of the backend, nil before SetConfig.
func (d *Driver) IIS() *ps.IIS {
	_, iis := d.backend()
	return iis
}

// LookupTask finds the task taskName of allocation allocID.
func (d *Driver) LookupTask(allocID, taskName string) (task.Info, bool) {
	for _, h := range d.tasks.All() {
		if h.cfg.AllocID == allocID && h.cfg.Name == taskName {
			return h.info(), true
		}
	}
	return task.Info{}, false
}

// Procdump returns the plugin's procdump block: the procdump.exe path and
// whether its licence was accepted; "" and false when there is none.
func (d *Driver) Procdump() (binaryPath string, acceptEula bool) {
	s, _ := d.backend()
	if s == nil || s.Procdump == nil {
		return "", false
	}
	return s.Procdump.BinaryPath, s.Procdump.AcceptEula
}

// info describes h.
func (h *taskHandle) info() task.Info {
	pools := make(map[string]string, len(h.state.AppPools))
	for k, v := range h.state.AppPools {
		pools[k] = v
	}
	ti := task.Info{
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

// TaskRegistry is the Management API's view of the driver's tasks (it
// satisfies api.Registry): it finds and lists them, and records the task
// events of the API's operations.
type TaskRegistry struct {
	d *Driver
}

// TaskRegistry returns the Management API's task registry.
func (d *Driver) TaskRegistry() *TaskRegistry { return &TaskRegistry{d: d} }

// Lookup finds the task taskName of allocation allocID.
func (r *TaskRegistry) Lookup(allocID, taskName string) (task.Info, bool) {
	return r.d.LookupTask(allocID, taskName)
}

// List returns every task the driver runs, ordered by task id.
func (r *TaskRegistry) List() []task.Info {
	handles := r.d.tasks.All()
	out := make([]task.Info, 0, len(handles))
	for _, h := range handles {
		out = append(out, h.info())
	}
	return out
}

// Emit sends a task event for the task taskID on behalf of the Management
// API. Unknown task ids are ignored.
func (r *TaskRegistry) Emit(taskID, message string) {
	h, ok := r.d.tasks.Get(taskID)
	if !ok {
		return
	}
	r.d.emitEvent(h.ref, message)
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

// GetWebsite reports a site.
func (c *PoolClient) GetWebsite(ctx context.Context, name string) (*ps.Website, error) {
	iis, err := c.client()
	if err != nil {
		return nil, err
	}
	return iis.GetWebsite(ctx, name)
}

// SwitchApplicationVersion switches an application's folder (the
// zero-downtime deploy). A stop/start switch stops the application's pool
// for a moment: the pools of the task that owns the site are held
// meanwhile (those not held already), so that the stop does not end the
// task as a stop from outside Nomad would.
func (c *PoolClient) SwitchApplicationVersion(ctx context.Context, args *ps.SwitchApplicationVersionArgs) (*ps.SwitchedApplicationVersion, error) {
	iis, err := c.client()
	if err != nil {
		return nil, err
	}
	if args.AllowStopStart {
		if h := c.siteOwner(args.SiteName); h != nil {
			held := h.holdUnheld(h.state.poolNames())
			defer func() {
				h.setHeld(held, false)
				h.refresh()
			}()
		}
	}
	return iis.SwitchApplicationVersion(ctx, args)
}

// siteOwner is the handle of the task whose site (or target website) is name.
func (c *PoolClient) siteOwner(name string) *taskHandle {
	for _, h := range c.d.tasks.All() {
		if strings.EqualFold(h.state.SiteName, name) {
			return h
		}
	}
	return nil
}

// holdUnheld holds those of names that are not held yet and returns them.
func (h *taskHandle) holdUnheld(names []string) []string {
	h.stateLock.Lock()
	defer h.stateLock.Unlock()
	var added []string
	for _, n := range names {
		if !h.held[n] {
			h.held[n] = true
			added = append(added, n)
		}
	}
	if len(added) > 0 {
		h.heldGen++
	}
	return added
}
