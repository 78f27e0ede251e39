// Package task describes a task of the iis driver as the rest of the plugin
// sees it. The driver fills Info; the Management API reads it (api.Task is
// the same type). It imports only the contract (ps), so both sides may
// import it without importing each other.
package task

import (
	"time"

	"github.com/nomad-iis/nomad-iis/ps"
)

// Info describes one task the driver runs. It is a copy: changing it does
// not change the task.
type Info struct {
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
	OwnsSite bool
	// TargetWebsite is the target website, "" for a task that owns its site.
	TargetWebsite string
	// AppPools maps each pool alias of the job file to its IIS name.
	AppPools map[string]string
	// DefaultAppPool is the alias of the default pool ("" when none).
	DefaultAppPool string
	// Bindings are the site bindings the task configured, with resolved ports.
	Bindings []ps.BindingSpec
	// ApplicationAliases are the task's applications ("" is the root).
	ApplicationAliases []string
	// Running is false once the task exited.
	Running bool
	// Recovered is true when the driver re-attached the task after a
	// plugin restart.
	Recovered bool
	// StartedAt is when the task was started.
	StartedAt time.Time
}
