//go:build !windows

package iissim

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/nomad-iis/nomad-iis/ps"
)

// commitFaultFile, in the state directory, makes the next NewTaskSite
// commit fail after applicationHost was written, once (InjectCommitFault).
const commitFaultFile = "fault-commit"

// InjectCommitFault makes the next NewTaskSite of the iissim service that
// owns stateDir fail the way IIS may: the configuration is written, then
// the commit fails (on IIS, Microsoft.Web.Administration registers the
// https certificates with HTTP.sys during the commit, and whether
// applicationHost.config was already written when that fails is not
// documented). iissim then does what the PowerShell module does: it reads
// the configuration again, removes in a new commit everything that carries
// the task's names, and answers Unavailable, so that the driver cleans up
// too. The fault is used once. Tests of the failure path use it.
func InjectCommitFault(stateDir string) error {
	dir, err := absStateDir(stateDir)
	if err != nil {
		return fmt.Errorf("inject a commit fault: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, commitFaultFile), nil, 0o600); err != nil {
		return fmt.Errorf("inject a commit fault: %w", err)
	}
	return nil
}

// takeCommitFault reports whether a commit fault was injected, and uses it.
func (s *service) takeCommitFault() bool {
	err := os.Remove(filepath.Join(s.lay.dir, commitFaultFile))
	return err == nil
}

// undoFailedCommit is NewTaskSite's failure path after applicationHost was
// written: it reads the configuration from disk again and removes the
// task's site (or its applications in the target website), the pools it
// created and the auto-start providers it added, in a commit of its own.
// It returns the Unavailable error the operation answers. The caller holds
// s.mu.
func (s *service) undoFailedCommit(spec *ps.TaskSiteSpec, created *ps.TaskSite, cause error) error {
	args := &ps.RemoveTaskSiteArgs{AppPools: created.AppPools}
	if spec.TargetWebsite != "" {
		args.TargetWebsite = spec.TargetWebsite
		args.ApplicationAliases = created.Applications
	} else {
		args.SiteName = spec.SiteName
	}
	// created lists only the providers the change added.
	args.AutoStartProviders = created.AutoStartProviders
	cleanup := "the objects it created were removed again"
	written, err := loadConfig(s.lay.config())
	if err == nil {
		removeFromConfig(written, args)
		err = written.save(s.lay.config())
	}
	if err != nil {
		cleanup = "removing the objects it may have created failed too: " + err.Error()
	} else {
		// As on IIS, the file is the truth: what it holds now is the
		// server's configuration.
		s.cfg = written
		s.reattachPoolsLocked()
	}
	s.log.Warn("a task site commit failed after the configuration was written", "site", spec.SiteName, "target_website", spec.TargetWebsite, "error", cause, "cleanup", cleanup)
	return unavailablef("the IIS configuration change could not be committed: %v; %s", cause, cleanup)
}
