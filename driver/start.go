package driver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/nomad/structs"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/nomad-iis/nomad-iis/ps"
)

// aclRetryDelay is the pause before the one retry of the directory ACLs: a
// new pool's identity may not resolve at once (nomad-iis issue #43).
const aclRetryDelay = 2 * time.Second

// startTask runs StartTask's steps: decode, validate, create (one
// transaction), persist, watch.
func (d *Driver) startTask(cfg *drivers.TaskConfig) (*drivers.TaskHandle, *drivers.DriverNetwork, error) {
	s, iis := d.backend()
	if iis == nil {
		return nil, nil, errors.New("the iis driver has no configuration yet")
	}
	ref := refOf(cfg)
	logger := d.logger.With("task_id", cfg.ID, "alloc_id", cfg.AllocID, "task_name", cfg.Name)

	var tc TaskConfig
	if err := cfg.DecodeDriverConfig(&tc); err != nil {
		releaseLogPipes(d.ctx, cfg)
		return nil, nil, fmt.Errorf("failed to decode the task config: %w", err)
	}
	plan, err := planTask(&tc, cfg, s, os.Environ())
	if err != nil {
		releaseLogPipes(d.ctx, cfg)
		return nil, nil, err
	}
	for _, w := range plan.warnings {
		logger.Warn("task config setting ignored", "warning", w)
		d.emitEvent(ref, "Warning: "+w, nil)
	}

	state, logs, err := d.createTask(cfg, plan, s, iis, logger)
	if err != nil {
		logger.Error("failed to start task", "error", err)
		releaseLogPipes(d.ctx, cfg)
		if errors.Is(err, ps.ErrUnavailable) {
			return nil, nil, structs.NewRecoverableError(err, true)
		}
		return nil, nil, err
	}

	handle := drivers.NewTaskHandle(taskHandleVersion)
	handle.Config = cfg
	handle.State = drivers.TaskStateRunning
	if err := handle.SetDriverState(state); err != nil {
		_ = d.removeObjects(ref, iis, s.callTimeout, state.removeArgs(), logger)
		return nil, nil, fmt.Errorf("failed to encode the task state: %w", err)
	}
	h := newTaskHandle(d, cfg, *state, iis, s.callTimeout, false)
	d.tasks.Set(cfg.ID, h)
	d.runHandle(h, logs)

	logger.Info("task started", "site", state.SiteName, "owns_site", state.OwnsSite, "app_pools", strings.Join(state.poolNames(), ","))
	d.emitEvent(ref, "Application started, Name: "+state.SiteName, nil)
	return handle, nil, nil
}

// createTask creates the task's IIS objects. Any failure undoes what was
// done, so that nothing of the task is left behind.
func (d *Driver) createTask(cfg *drivers.TaskConfig, plan *taskPlan, s *driverSettings, iis *ps.IIS, logger hclog.Logger) (_ *TaskState, _ logBaselines, err error) {
	ref := refOf(cfg)
	call := func() (context.Context, context.CancelFunc) { return context.WithTimeout(d.ctx, s.callTimeout) }
	state := &TaskState{
		StartedAt:      time.Now(),
		TaskDir:        filepath.Join(cfg.AllocDir, cfg.Name),
		SiteName:       plan.siteName,
		OwnsSite:       plan.siteName != "",
		AppPools:       plan.poolNames,
		DefaultAppPool: plan.defaultPool,
		AppLogFile:     plan.appLogFile,
	}
	if !state.OwnsSite {
		state.SiteName = plan.targetWebsite
	}

	hc := ps.HookContext{
		AllocID: cfg.AllocID, TaskName: cfg.Name, JobName: cfg.JobName, Namespace: cfg.Namespace,
		TaskDir: state.TaskDir, SiteName: state.SiteName, AppPools: state.poolNames(),
	}
	if err := d.runHook(iis, s, ps.HookPreStart, hc, ref, logger); err != nil {
		return nil, logBaselines{}, err
	}
	if err := prepareDirectories(state.TaskDir, plan, s.PlaceholderAppPath); err != nil {
		return nil, logBaselines{}, err
	}
	logs := logBaselines{app: snapshotSizes(plan.appLogFile)}

	// From here on, a failure undoes what was created.
	created := false
	defer func() {
		if err == nil {
			return
		}
		if created {
			_ = d.removeObjects(ref, iis, s.callTimeout, state.removeArgs(), logger)
			return
		}
		for _, tp := range state.Certificates {
			d.removeCertificate(ref, iis, s.callTimeout, tp, logger)
		}
	}()

	for _, ci := range plan.certImports {
		ctx, cancel := call()
		cert, err := iis.ImportCertificate(ctx, &ci.args)
		cancel()
		if err != nil {
			return nil, logBaselines{}, fmt.Errorf("binding[%d].certificate: cannot install the certificate: %w", ci.binding, err)
		}
		plan.spec.Bindings[ci.binding].CertificateThumbprint = cert.Thumbprint
		switch {
		case cert.AlreadyPresent:
			d.emitEvent(ref, "Using certificate already installed: "+cert.Thumbprint, nil)
		case ci.args.SelfSigned:
			state.Certificates = append(state.Certificates, cert.Thumbprint)
			d.emitEvent(ref, "Installed self-signed certificate: "+cert.Thumbprint, nil)
		default:
			state.Certificates = append(state.Certificates, cert.Thumbprint)
			d.emitEvent(ref, "Installed certificate: "+cert.Thumbprint, nil)
		}
	}

	ctx, cancel := call()
	site, err := iis.NewTaskSite(ctx, &plan.spec)
	cancel()
	if err != nil {
		// A backend that timed out may have finished the commit: remove what
		// carries the task's own names (its site and pools; not aliases in a
		// target website, which may be someone else's). Other errors mean
		// nothing was committed.
		created = errors.Is(err, ps.ErrUnavailable)
		if errors.Is(err, ps.ErrConflict) {
			return nil, logBaselines{}, fmt.Errorf("cannot create the site: %w (the driver never takes over an existing site, pool or binding: remove the leftover, which the Management API lists as dangling, or pick another port)", err)
		}
		return nil, logBaselines{}, fmt.Errorf("cannot create the site: %w", err)
	}
	created = true
	state.SiteName = site.SiteName
	state.SiteID = site.SiteID
	state.ApplicationAliases = site.Applications
	state.AutoStartProviders = site.AutoStartProviders
	state.Bindings = plan.spec.Bindings
	for _, alias := range sortedKeys(state.AppPools) {
		d.emitEvent(ref, fmt.Sprintf("ApplicationPool created: %s (%s)", alias, state.AppPools[alias]), nil)
	}
	logs.w3c = snapshotSizes(w3cPattern(s.IISLogDir, state.SiteID))

	if s.DirectorySecurity {
		d.setDirectoryACLs(iis, s, cfg, plan, ref, logger)
	}
	hc.SiteName = state.SiteName
	if err := d.runHook(iis, s, ps.HookPostStart, hc, ref, logger); err != nil {
		d.emitEvent(ref, "Warning: "+err.Error(), nil)
	}
	return state, logs, nil
}

// setDirectoryACLs restricts the task's directories to its pools'
// identities (as nomad-iis 0.20 does). A failure is reported as a task
// event, as in nomad-iis: the task still starts.
func (d *Driver) setDirectoryACLs(iis *ps.IIS, s *driverSettings, cfg *drivers.TaskConfig, plan *taskPlan, ref taskRef, logger hclog.Logger) {
	args := &ps.TaskDirectoryAclArgs{AllocDir: cfg.AllocDir, TaskName: cfg.Name, Identities: plan.identities, PermitIUSR: plan.permitIUSR}
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		if attempt > 0 {
			select {
			case <-d.ctx.Done():
				return
			case <-time.After(aclRetryDelay):
			}
		}
		ctx, cancel := context.WithTimeout(d.ctx, s.callTimeout)
		err = iis.SetTaskDirectoryAcl(ctx, args)
		cancel()
		if err == nil {
			return
		}
	}
	logger.Warn("cannot set the task directory ACLs", "error", err)
	d.emitEvent(ref, "Warning: cannot set the task directory ACLs: "+err.Error(), nil)
}

// removeObjects removes a task's IIS objects, retrying while the backend is
// unavailable, and reports what happened to its certificates.
func (d *Driver) removeObjects(ref taskRef, iis *ps.IIS, timeout time.Duration, args *ps.RemoveTaskSiteArgs, logger hclog.Logger) error {
	var (
		res *ps.RemovedTaskSite
		err error
	)
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			select {
			case <-d.ctx.Done():
				return fmt.Errorf("cannot remove the task's site and pools: %w", d.ctx.Err())
			case <-time.After(time.Duration(attempt) * time.Second):
			}
		}
		ctx, cancel := context.WithTimeout(d.ctx, timeout)
		res, err = iis.RemoveTaskSite(ctx, args)
		cancel()
		if err == nil || !errors.Is(err, ps.ErrUnavailable) {
			break
		}
	}
	if err != nil {
		logger.Error("cannot remove the task's site and pools", "error", err)
		d.emitEvent(ref, "Error: cannot remove the task's site and pools: "+err.Error(), nil)
		return fmt.Errorf("cannot remove the task's site and pools: %w", err)
	}
	for _, p := range args.AppPools {
		d.emitEvent(ref, "ApplicationPool removed: "+p, nil)
	}
	for _, tp := range res.RemovedCertificates {
		d.emitEvent(ref, "Uninstalled certificate: "+tp, nil)
	}
	for _, tp := range res.KeptCertificates {
		d.emitEvent(ref, "Kept certificate (still in use): "+tp, nil)
	}
	return nil
}

// removeCertificate removes one certificate this task installed.
func (d *Driver) removeCertificate(ref taskRef, iis *ps.IIS, timeout time.Duration, tp string, logger hclog.Logger) {
	ctx, cancel := context.WithTimeout(d.ctx, timeout)
	defer cancel()
	res, err := iis.RemoveCertificate(ctx, tp)
	if err != nil {
		logger.Warn("cannot uninstall certificate", "thumbprint", tp, "error", err)
		return
	}
	if res.Removed {
		d.emitEvent(ref, "Uninstalled certificate: "+tp, nil)
	}
}

// prepareDirectories creates the task's tmp directory (its workers' TEMP)
// and fills missing or empty application directories below the task
// directory with the placeholder's files, as nomad-iis does.
func prepareDirectories(taskDir string, plan *taskPlan, placeholder string) error {
	if err := os.MkdirAll(filepath.Join(taskDir, "tmp"), 0o755); err != nil {
		return fmt.Errorf("cannot create the task's tmp directory: %w", err)
	}
	hasPlaceholder := false
	if placeholder != "" {
		if fi, err := os.Stat(placeholder); err == nil && fi.IsDir() {
			hasPlaceholder = true
		}
	}
	for _, dir := range plan.contentDirs {
		if dir == placeholder || !isEmptyDir(dir) {
			continue
		}
		if hasPlaceholder {
			if err := copyTree(placeholder, dir); err != nil {
				return fmt.Errorf("cannot copy the placeholder %s into %s: %w", placeholder, dir, err)
			}
		} else if within(taskDir, dir) {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return fmt.Errorf("cannot create %s: %w", dir, err)
			}
		}
	}
	return nil
}

// isEmptyDir reports whether dir is missing or has no entries.
func isEmptyDir(dir string) bool {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	return err == nil && len(entries) == 0
}

// within reports whether path is inside dir.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && filepath.IsLocal(rel)
}

// copyTree copies the regular files and directories of src into dst.
// Links are skipped.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case e.IsDir():
			return os.MkdirAll(target, 0o755)
		case e.Type().IsRegular():
			return copyFile(path, target)
		}
		return nil
	})
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
