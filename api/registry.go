package api

import (
	"context"

	"github.com/nomad-iis/nomad-iis/internal/task"
	"github.com/nomad-iis/nomad-iis/ps"
)

// Registry is the driver's view of its running tasks, as the API needs it.
// The driver's TaskRegistry satisfies it; every method must be cheap (Lookup
// runs on every request) and safe for concurrent use.
type Registry interface {
	// Lookup finds the task of an allocation by task name.
	Lookup(allocID, taskName string) (Task, bool)
	// List returns every task the driver handles (for the debug route).
	List() []Task
	// Emit records a Nomad task event for the task with id taskID.
	Emit(taskID, message string)
}

// Task describes one task the driver runs. It is the driver's own
// description (package internal/task), so the API reads what the driver
// wrote, with no mirror type in between.
type Task = task.Info

// IIS is the part of *ps.IIS the API uses. In production it is the driver's
// PoolClient, which answers ps.ErrUnavailable (503 here) until the driver
// has a backend; tests substitute a fake.
type IIS interface {
	GetAppPools(ctx context.Context, names ...string) ([]ps.AppPool, error)
	StartAppPool(ctx context.Context, name string) (*ps.AppPool, error)
	StopAppPool(ctx context.Context, name string, waitMs int64) (*ps.AppPool, error)
	RecycleAppPool(ctx context.Context, name string) (*ps.AppPool, error)
	GetManagedResources(ctx context.Context) (*ps.ManagedResources, error)
	GetExtensions(ctx context.Context) (*ps.Extensions, error)
	// GetWebsite and SwitchApplicationVersion serve the zero-downtime deploy.
	GetWebsite(ctx context.Context, name string) (*ps.Website, error)
	SwitchApplicationVersion(ctx context.Context, args *ps.SwitchApplicationVersionArgs) (*ps.SwitchedApplicationVersion, error)
}

// Interface guard: the typed client satisfies IIS, so tests and the bench
// serve it directly.
var _ IIS = (*ps.IIS)(nil)
