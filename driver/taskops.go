package driver

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/nomad-iis/nomad-iis/ps"
)

// This file holds the backend calls that create and remove a task's IIS
// objects. Each one reports what it did as task events.

// aclRetryDelay is the pause before the one retry of the directory ACLs: a
// new pool's identity may not resolve at once (nomad-iis issue #43).
const aclRetryDelay = 2 * time.Second

// create creates the task's IIS objects as plan says and fills h.state
// with them. It returns the sizes of the task's log files before the site
// existed, where log forwarding starts. Any failure undoes what was done,
// so that nothing of the task is left behind.
func (h *taskHandle) create(s *driverSettings, plan *taskPlan) (_ logBaselines, err error) {
	h.state = TaskState{
		StartedAt:      time.Now(),
		TaskDir:        filepath.Join(h.cfg.AllocDir, h.cfg.Name),
		SiteName:       plan.siteName,
		OwnsSite:       plan.siteName != "",
		AppPools:       plan.poolNames,
		DefaultAppPool: plan.defaultPool,
		AppLogFile:     plan.appLogFile,
	}
	if !h.state.OwnsSite {
		h.state.SiteName = plan.targetWebsite
	}
	if err := h.runHook(ps.HookPreStart); err != nil {
		return logBaselines{}, err
	}
	if err := prepareDirectories(h.state.TaskDir, plan, s.PlaceholderAppPath); err != nil {
		return logBaselines{}, err
	}
	logs := logBaselines{app: snapshotSizes(h.state.TaskDir, plan.appLogFile)}

	// From here on, a failure undoes what was created.
	created := false
	defer func() {
		if err != nil {
			h.undoCreate(created)
		}
	}()
	if err := h.importCertificates(plan); err != nil {
		return logBaselines{}, err
	}
	if created, err = h.createSite(plan); err != nil {
		return logBaselines{}, err
	}
	logs.w3c = snapshotSizes("", w3cPattern(s.IISLogDir, h.state.SiteID))
	if s.DirectorySecurity {
		h.setACLs(plan)
	}
	h.runHookOrWarn(ps.HookPostStart)
	return logs, nil
}

// importCertificates installs the certificates of plan's bindings and
// points the bindings at them. Those that were not in the store before are
// recorded in h.state, for removal with the task.
func (h *taskHandle) importCertificates(plan *taskPlan) error {
	for _, ci := range plan.certImports {
		ctx, cancel := h.opCtx()
		cert, err := h.client().ImportCertificate(ctx, &ci.args)
		cancel()
		if err != nil {
			return fmt.Errorf("binding[%d].certificate: cannot install the certificate: %w", ci.binding, err)
		}
		plan.spec.Bindings[ci.binding].CertificateThumbprint = cert.Thumbprint
		switch {
		case cert.AlreadyPresent:
			h.emit("Using certificate already installed: " + cert.Thumbprint)
		case ci.args.SelfSigned:
			h.state.Certificates = append(h.state.Certificates, cert.Thumbprint)
			h.emit("Installed self-signed certificate: " + cert.Thumbprint)
		default:
			h.state.Certificates = append(h.state.Certificates, cert.Thumbprint)
			h.emit("Installed certificate: " + cert.Thumbprint)
		}
	}
	return nil
}

// createSite creates the task's pools, site (or applications in the target
// website) and bindings in one backend transaction and records them in
// h.state. created says whether the backend may have committed them, even
// on error.
func (h *taskHandle) createSite(plan *taskPlan) (created bool, err error) {
	ctx, cancel := h.opCtx()
	site, err := h.client().NewTaskSite(ctx, &plan.spec)
	cancel()
	if err != nil {
		// A backend that timed out may have finished the commit: remove what
		// carries the task's own names (its site and pools; not aliases in a
		// target website, which may be someone else's). Other errors mean
		// nothing was committed.
		created = errors.Is(err, ps.ErrUnavailable)
		if errors.Is(err, ps.ErrConflict) {
			return created, fmt.Errorf("cannot create the site: %w (the driver never takes over an existing site, pool or binding: remove the leftover, which the Management API lists as dangling, or pick another port)", err)
		}
		return created, fmt.Errorf("cannot create the site: %w", err)
	}
	h.state.SiteName = site.SiteName
	h.state.SiteID = site.SiteID
	h.state.ApplicationAliases = site.Applications
	h.state.AutoStartProviders = site.AutoStartProviders
	h.state.Bindings = plan.spec.Bindings
	for _, alias := range sortedKeys(h.state.AppPools) {
		h.emit(fmt.Sprintf("ApplicationPool created: %s (%s)", alias, h.state.AppPools[alias]))
	}
	return true, nil
}

// undoCreate removes what a failed create made: the site and pools when
// they may exist (created), else the certificates the task imported.
func (h *taskHandle) undoCreate(created bool) {
	if created {
		_ = h.removeObjects(h.state.removeArgs())
		return
	}
	for _, tp := range h.state.Certificates {
		h.removeCertificate(tp)
	}
}

// setACLs restricts the task's directories to its pools' identities (as
// nomad-iis 0.20 does). A failure is reported as a task event, as in
// nomad-iis: the task still starts.
func (h *taskHandle) setACLs(plan *taskPlan) {
	args := &ps.TaskDirectoryAclArgs{AllocDir: h.cfg.AllocDir, TaskName: h.cfg.Name, Identities: plan.identities, PermitIUSR: plan.permitIUSR}
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		if attempt > 0 {
			select {
			case <-h.d.ctx.Done():
				return
			case <-time.After(aclRetryDelay):
			}
		}
		ctx, cancel := h.opCtx()
		err = h.client().SetTaskDirectoryAcl(ctx, args)
		cancel()
		if err == nil {
			return
		}
	}
	h.logger.Warn("cannot set the task directory ACLs", "error", err)
	h.emit("Warning: cannot set the task directory ACLs: " + err.Error())
}

// removeObjects removes the task's IIS objects that args name, retrying
// while the backend is unavailable, and reports what happened to its
// certificates.
func (h *taskHandle) removeObjects(args *ps.RemoveTaskSiteArgs) error {
	var (
		res *ps.RemovedTaskSite
		err error
	)
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			select {
			case <-h.d.ctx.Done():
				return fmt.Errorf("cannot remove the task's site and pools: %w", h.d.ctx.Err())
			case <-time.After(time.Duration(attempt) * time.Second):
			}
		}
		ctx, cancel := h.opCtx()
		res, err = h.client().RemoveTaskSite(ctx, args)
		cancel()
		if err == nil || !errors.Is(err, ps.ErrUnavailable) {
			break
		}
	}
	if err != nil {
		h.logger.Error("cannot remove the task's site and pools", "error", err)
		h.emit("Error: cannot remove the task's site and pools: " + err.Error())
		return fmt.Errorf("cannot remove the task's site and pools: %w", err)
	}
	for _, p := range args.AppPools {
		h.emit("ApplicationPool removed: " + p)
	}
	for _, tp := range res.RemovedCertificates {
		h.emit("Uninstalled certificate: " + tp)
	}
	for _, tp := range res.KeptCertificates {
		h.emit("Kept certificate (still in use): " + tp)
	}
	return nil
}

// removeCertificate removes one certificate this task installed.
func (h *taskHandle) removeCertificate(tp string) {
	ctx, cancel := h.opCtx()
	defer cancel()
	res, err := h.client().RemoveCertificate(ctx, tp)
	if err != nil {
		h.logger.Warn("cannot uninstall certificate", "thumbprint", tp, "error", err)
		return
	}
	if res.Removed {
		h.emit("Uninstalled certificate: " + tp)
	}
}
