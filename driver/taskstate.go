package driver

import (
	"sort"
	"time"

	"github.com/nomad-iis/nomad-iis/ps"
)

// taskHandleVersion is the version of TaskState this driver writes. Bump it
// and teach RecoverTask the old layout when a field changes meaning.
//
// Version 2: AutoStartProviders lists only the providers NewTaskSite
// registered. In version 1 it also listed providers that were registered
// before the task and that the task had rewritten (see upgrade).
const taskHandleVersion = 2

// oldestTaskHandleVersion is the oldest version RecoverTask reads.
const oldestTaskHandleVersion = 1

// TaskState is what the driver persists in the task handle (Nomad keeps it
// in the client's state database) so that RecoverTask can find a task's IIS
// objects again after the plugin or the client restarted. The task's config
// block is not available on recovery; everything needed later is here.
//
// Important: the fields are encoded by name with MessagePack. Renaming one
// loses it for tasks that were started before the rename.
type TaskState struct {
	// StartedAt is when StartTask created the site.
	StartedAt time.Time
	// TaskDir is the task's directory (<alloc dir>/<task>).
	TaskDir string
	// SiteName is the site the task owns, or the target website.
	SiteName string
	// OwnsSite is false for a task that added applications to a target website.
	OwnsSite bool
	// SiteID is the IIS id of the site (for its W3C log directory).
	SiteID int64
	// AppPools maps each pool alias to its IIS name.
	AppPools map[string]string
	// DefaultAppPool is the alias of the site's default pool.
	DefaultAppPool string
	// ApplicationAliases are the applications created ("" is the root).
	ApplicationAliases []string
	// AutoStartProviders are the providers the task registered (not the
	// ones that were registered before it), to remove once no application
	// names them.
	AutoStartProviders []string
	// Certificates are the thumbprints of the certificates this task
	// imported (not the ones that were in the store before), to remove once
	// no binding uses them.
	Certificates []string
	// Bindings are the site's bindings with resolved ports.
	Bindings []ps.BindingSpec
	// AppLogFile is the absolute path (or glob) of the app's log, or "".
	AppLogFile string
}

// poolNames are the IIS names of the task's pools, sorted.
func (s *TaskState) poolNames() []string {
	out := make([]string, 0, len(s.AppPools))
	for _, n := range s.AppPools {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// removeArgs is the RemoveTaskSite request for everything the task created.
func (s *TaskState) removeArgs() *ps.RemoveTaskSiteArgs {
	args := &ps.RemoveTaskSiteArgs{
		AppPools:           s.poolNames(),
		AutoStartProviders: s.AutoStartProviders,
		Certificates:       s.Certificates,
	}
	if s.OwnsSite {
		args.SiteName = s.SiteName
	} else {
		args.TargetWebsite = s.SiteName
		args.ApplicationAliases = s.ApplicationAliases
	}
	return args
}

// upgrade gives a state read from a handle of an older version the current
// meaning, and returns the auto-start providers it stops tracking.
//
// A version 1 state lists, in AutoStartProviders, the providers the task
// registered and also those that existed before it (an administrator's,
// or another task's), and nothing tells them apart any more. Removing one
// of the latter would break whoever registered it, so the task keeps none
// of them: when it ends they stay registered (an unused registration does
// nothing), and the caller reports them so that an administrator can
// remove the ones nobody needs.
func (s *TaskState) upgrade(version int) (untracked []string) {
	if version < 2 && len(s.AutoStartProviders) > 0 {
		untracked, s.AutoStartProviders = s.AutoStartProviders, nil
	}
	return untracked
}
