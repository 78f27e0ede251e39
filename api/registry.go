package api

import (
	"context"
	"time"

	"github.com/nomad-iis/nomad-iis/ps"
)

// Registry is the driver's view of its running tasks, as the API needs it.
// The driver satisfies it with a small adapter; every method must be cheap
// (Lookup runs on every request) and safe for concurrent use.
type Registry interface {
	// Lookup finds the task of an allocation by task name.
	Lookup(allocID, taskName string) (Task, bool)
	// List returns every task the driver handles (for the debug route).
	List() []Task
	// Emit records a Nomad task event for the task with id taskID.
	Emit(taskID, message string)
}

// Task describes one task the driver runs.
type Task struct {
	TaskID    string
	AllocID   string
	TaskName  string
	TaskGroup string
	Namespace string
	JobID     string
	JobName   string
	// TaskDir is the task's directory (<alloc dir>/<task name>).
	TaskDir string
	// SiteName is the IIS site of the task: its own, or TargetWebsite.
	SiteName string
	// OwnsSite is false when the task adds applications to TargetWebsite.
	OwnsSite      bool
	TargetWebsite string
	// AppPools maps each pool alias of the job file to its IIS name.
	AppPools map[string]string
	// DefaultAppPool is the alias of the default pool ("" when none).
	DefaultAppPool string
	// Bindings are the site bindings the task configured.
	Bindings []ps.BindingSpec
	// Recovered is true when the driver recovered the task after a restart.
	Recovered bool
	StartedAt time.Time
}

// IIS is the part of *ps.IIS the API uses. Tests substitute a fake; in
// production it is the driver's typed client over PowerShell or iissim.
type IIS interface {
	GetAppPools(ctx context.Context, names ...string) ([]ps.AppPool, error)
	StartAppPool(ctx context.Context, name string) (*ps.AppPool, error)
	StopAppPool(ctx context.Context, name string, waitMs int64) (*ps.AppPool, error)
	RecycleAppPool(ctx context.Context, name string) (*ps.AppPool, error)
	GetManagedResources(ctx context.Context) (*ps.ManagedResources, error)
	GetExtensions(ctx context.Context) (*ps.Extensions, error)
}

// Interface guard: the production client satisfies IIS.
var _ IIS = (*ps.IIS)(nil)
