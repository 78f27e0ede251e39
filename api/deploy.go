package api

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nomad-iis/nomad-iis/api/fsroot"
	"github.com/nomad-iis/nomad-iis/api/ziputil"
	"github.com/nomad-iis/nomad-iis/ps"
)

// Bounds of the deploy routes' warm-up.
const (
	defaultWarmupTimeout = 30 * time.Second
	maxWarmupTimeout     = 10 * time.Minute
)

// deployResult is the body of a successful deploy or rollback.
type deployResult struct {
	// Application is "/" or "/<alias>"; VirtualDirectory "/" or "/<alias>".
	Application      string `json:"application"`
	VirtualDirectory string `json:"virtualDirectory"`
	ApplicationPool  string `json:"applicationPool"`
	// Version is what the directory serves now; PreviousVersion what it served.
	Version         deployVersion `json:"version"`
	PreviousVersion string        `json:"previousVersion"`
	// Mode is Overlapped, StopStart (allowRestart) or ConfigOnly (the pool
	// had no worker).
	Mode         string `json:"mode"`
	WarmupStatus int    `json:"warmupStatus,omitempty"`
	// KeptVersions are the versions kept after the switch, oldest first;
	// RemovedVersions those removed beyond the bound.
	KeptVersions    []string `json:"keptVersions"`
	RemovedVersions []string `json:"removedVersions"`
}

// deployOptions are the query parameters shared by deploy and rollback.
type deployOptions struct {
	app, vdir     string
	warmup        string
	warmupTimeout time.Duration
	allowRestart  bool
}

func parseDeployOptions(r *http.Request) (deployOptions, error) {
	q := r.URL.Query()
	o := deployOptions{app: q.Get("app"), vdir: q.Get("vdir"), warmup: q.Get("warmup"), warmupTimeout: defaultWarmupTimeout}
	if o.warmup != "" && !strings.HasPrefix(o.warmup, "/") {
		return o, apiErr(http.StatusBadRequest, "query parameter warmup=%q must be a path starting with \"/\" (below the application's directory)", o.warmup)
	}
	if v := q.Get("warmupTimeout"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > maxWarmupTimeout {
			return o, apiErr(http.StatusBadRequest, "query parameter warmupTimeout=%q must be a duration between 1ms and %s, such as 30s", v, maxWarmupTimeout)
		}
		o.warmupTimeout = d
	}
	var err error
	if o.allowRestart, err = parseBool(r, "allowRestart"); err != nil {
		return o, err
	}
	return o, nil
}

// deployTarget is the virtual directory a deploy switches.
type deployTarget struct {
	appPath, vdirPath string
	// physical is the folder IIS serves now; rel the same relative to the
	// task directory (slash-separated).
	physical, rel string
}

// resolveTarget finds the application and virtual directory the caller
// names (app: an alias of the task, default its root application or its
// only one; vdir: an alias below it, default its root directory) and the
// folder they serve, which must lie inside the task directory.
func (s *Server) resolveTarget(ctx context.Context, t Task, o deployOptions) (*deployTarget, error) {
	site, err := s.iis.GetWebsite(ctx, t.SiteName)
	if err != nil {
		return nil, fmt.Errorf("read website %q: %w", t.SiteName, err)
	}
	var allowed []ps.Application
	for _, a := range site.Applications {
		if t.OwnsSite || taskHasApplication(t, a.Path) {
			allowed = append(allowed, a)
		}
	}
	paths := make([]string, len(allowed))
	for i, a := range allowed {
		paths[i] = strings.TrimPrefix(a.Path, "/")
	}
	var app *ps.Application
	if o.app == "" {
		for i := range allowed {
			if allowed[i].Path == "/" {
				app = &allowed[i]
			}
		}
		if app == nil && len(allowed) == 1 {
			app = &allowed[0]
		}
		if app == nil {
			return nil, apiErr(http.StatusBadRequest, "query parameter app is required: the task has several applications (%s)", strings.Join(quoteAll(paths), ", "))
		}
	} else {
		want := "/" + strings.Trim(o.app, "/")
		for i := range allowed {
			if strings.EqualFold(allowed[i].Path, want) {
				app = &allowed[i]
			}
		}
		if app == nil {
			return nil, apiErr(http.StatusNotFound, "query parameter app=%q: the task has no such application; its applications are %s (\"\" is the root)", o.app, strings.Join(quoteAll(paths), ", "))
		}
	}
	vdir := "/" + strings.Trim(o.vdir, "/")
	var dirs []string
	tgt := &deployTarget{appPath: app.Path, vdirPath: vdir}
	for _, v := range app.VirtualDirectories {
		dirs = append(dirs, strings.TrimPrefix(v.Path, "/"))
		if strings.EqualFold(v.Path, vdir) {
			tgt.vdirPath, tgt.physical = v.Path, v.PhysicalPath
		}
	}
	if tgt.physical == "" {
		return nil, apiErr(http.StatusNotFound, "query parameter vdir=%q: application %q has no such virtual directory; its directories are %s (\"\" is the root)", o.vdir, app.Path, strings.Join(quoteAll(dirs), ", "))
	}
	rel, err := filepath.Rel(t.TaskDir, tgt.physical)
	if err != nil || !filepath.IsLocal(rel) || rel == "." {
		return nil, apiErr(http.StatusConflict, "application %q serves %q, which is not a folder inside the task directory; a zero-downtime deploy keeps its versions beside the application's folder, inside the task directory", app.Path, tgt.physical)
	}
	tgt.rel = filepath.ToSlash(rel)
	if fsroot.IsForbiddenTop(strings.Split(tgt.rel, "/")[0]) {
		return nil, apiErr(http.StatusForbidden, "application %q serves %q, below a folder the Management API never writes", app.Path, tgt.rel)
	}
	return tgt, nil
}

func taskHasApplication(t Task, appPath string) bool {
	for _, a := range t.ApplicationAliases {
		if strings.EqualFold("/"+strings.Trim(a, "/"), appPath) {
			return true
		}
	}
	return false
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// handleDeploy serves PUT …/deploy: the zero-downtime deploy. The archive
// is spooled, validated and extracted into a new version folder beside the
// application's folder; then the backend switches the directory to it with
// an overlapped recycle (after the warm-up, when asked); then the versions
// beyond the bound are removed. Until the switch nothing the site serves
// changes; a failure removes the new folder and leaves the old version
// serving.
func (s *Server) handleDeploy(w http.ResponseWriter, r *http.Request, c *call) (err error) {
	o, err := parseDeployOptions(r)
	if err != nil {
		return err
	}
	if !isZipUpload(r.Header.Get("Content-Type")) {
		return apiErr(http.StatusUnsupportedMediaType, "a deploy takes a ZIP archive: send Content-Type: application/zip")
	}
	if r.ContentLength > s.cfg.MaxUploadBytes {
		return apiErr(http.StatusRequestEntityTooLarge, "the body has %d bytes; the limit is %d (%s)", r.ContentLength, s.cfg.MaxUploadBytes, FlagMaxUpload)
	}
	defer func() {
		if err != nil && r.ContentLength != 0 {
			w.Header().Set("Connection", "close")
		}
	}()
	c.auditNote = "deploy"
	d, err := s.beginDeploy(r, c, o)
	if err != nil {
		return err
	}
	defer d.release()

	tr := newTransfer(w, s.cfg.TransferIdleTimeout)
	defer tr.done()
	body := tr.reader(http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadBytes))
	zr, size, err := d.spool(body)
	if err != nil {
		return err
	}
	limits := ziputil.Limits{MaxEntries: s.cfg.MaxZipEntries, MaxTotalBytes: s.cfg.MaxZipBytes, MaxRatio: s.cfg.MaxZipRatio, Dir: d.tgt.rel}
	m, err := ziputil.Validate(zr, limits)
	if err != nil {
		return err
	}
	if err := checkFreeSpace(d.tree.Dir(), m.TotalBytes); err != nil {
		return err
	}
	id, dir, err := d.store.newVersionDir(d.root())
	if err != nil {
		return err
	}
	placed := false
	defer func() {
		if !placed {
			_ = d.root().RemoveAll(dir)
		}
	}()
	dst, err := d.root().OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	written, err := ziputil.Extract(r.Context(), zr, dst, limits.MaxExtracted(size))
	_ = dst.Close()
	if err != nil {
		return fmt.Errorf("extract the archive (nothing was changed): %w", err)
	}
	v := deployVersion{ID: id, CreatedAt: time.Now().UTC(), Bytes: written, Files: m.Files, Path: dir}
	res, switched, err := d.switchTo(r.Context(), v, true)
	placed = switched // once IIS serves the folder, it stays, even if the record failed
	if err != nil {
		return err
	}
	s.reg.Emit(c.task.TaskID, fmt.Sprintf("Management API deployed version %s to %s (%s, %d files, %d bytes)", id, d.tgt.appPath, res.Mode, v.Files, v.Bytes))
	return writeJSON(w, res)
}

// handleRollback serves PUT …/deploy/rollback: the directory is switched
// back to a kept version (?version=, default the newest one before the
// current) in the same way as a deploy.
func (s *Server) handleRollback(w http.ResponseWriter, r *http.Request, c *call) error {
	o, err := parseDeployOptions(r)
	if err != nil {
		return err
	}
	c.auditNote = "rollback"
	d, err := s.beginDeploy(r, c, o)
	if err != nil {
		return err
	}
	defer d.release()
	id := r.URL.Query().Get("version")
	if id == "" {
		if id = d.store.previous(); id == "" {
			return apiErr(http.StatusConflict, "application %q has no earlier version to roll back to (kept: %s)", d.tgt.appPath, strings.Join(d.store.ids(), ", "))
		}
	}
	v := d.store.find(id)
	if v == nil {
		return apiErr(http.StatusNotFound, "query parameter version=%q: no such version is kept; kept: %s", id, strings.Join(d.store.ids(), ", "))
	}
	if v.ID == d.store.Current {
		return apiErr(http.StatusConflict, "version %q is already the current version of %q", v.ID, d.tgt.appPath)
	}
	res, _, err := d.switchTo(r.Context(), *v, false)
	if err != nil {
		return err
	}
	s.reg.Emit(c.task.TaskID, fmt.Sprintf("Management API rolled %s back to version %s (%s)", d.tgt.appPath, v.ID, res.Mode))
	return writeJSON(w, res)
}

// deployment is one deploy or rollback in progress: the task's lock, its
// directory, the target and its version store.
type deployment struct {
	s       *Server
	c       *call
	o       deployOptions
	tree    *fsroot.Tree
	tgt     *deployTarget
	store   *versionStore
	spooled string
	file    *os.File
	undo    []func()
}

// beginDeploy takes the task's lock, opens its directory, resolves the
// target and reads its version store.
func (s *Server) beginDeploy(r *http.Request, c *call, o deployOptions) (_ *deployment, err error) {
	d := &deployment{s: s, c: c, o: o}
	defer func() {
		if err != nil {
			d.release()
		}
	}()
	unlock, err := s.locks.lockTask(c.task.TaskID, c.auditNote)
	if err != nil {
		return nil, err
	}
	d.undo = append(d.undo, unlock, func() {
		s.status.invalidate(c.task.TaskID)
		s.deploys.invalidate(c.task.TaskID)
	})
	if d.tree, err = openTree(c.task); err != nil {
		return nil, err
	}
	d.undo = append(d.undo, func() { _ = d.tree.Close() })
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
	defer cancel()
	if d.tgt, err = s.resolveTarget(ctx, c.task, o); err != nil {
		return nil, err
	}
	c.auditPath = d.tgt.appPath + strings.TrimPrefix(d.tgt.vdirPath, "/")
	if d.store, err = openStore(d.root(), d.tgt.rel); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *deployment) root() *os.Root { return d.tree.Root() }

// release undoes beginDeploy and removes the spool.
func (d *deployment) release() {
	if d.file != nil {
		_ = d.file.Close()
		_ = d.root().Remove(d.spooled)
		d.file = nil
	}
	for i := len(d.undo) - 1; i >= 0; i-- {
		d.undo[i]()
	}
	d.undo = nil
}

// spool copies the body to a file at the top of the task directory (a ZIP
// needs random access; the body is never held in memory).
func (d *deployment) spool(body io.Reader) (*zip.Reader, int64, error) {
	name := fsroot.StagingName(".zip")
	f, err := d.root().OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("create the deploy spool: %w", err)
	}
	d.file, d.spooled = f, name
	n, err := io.Copy(f, body)
	if err != nil {
		return nil, 0, bodyError(err)
	}
	zr, err := zip.NewReader(f, n)
	if err != nil {
		return nil, 0, apiErr(http.StatusBadRequest, "the body is not a ZIP archive (%v)", err)
	}
	return zr, n, nil
}

// switchTo asks the backend to switch the target to v, then records v as
// current (adding it when added is set), removes the versions beyond the
// bound and saves the record. switched reports whether IIS serves v now
// (also when the record could not be saved). The switch is detached from
// the request: a client that goes away does not stop it halfway.
func (d *deployment) switchTo(ctx context.Context, v deployVersion, added bool) (_ *deployResult, switched bool, _ error) {
	cfg := d.s.cfg
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.PoolStopTimeout+cfg.RequestTimeout+d.o.warmupTimeout)
	defer cancel()
	args := &ps.SwitchApplicationVersionArgs{
		SiteName: d.c.task.SiteName, ApplicationPath: d.tgt.appPath, VirtualDirectoryPath: d.tgt.vdirPath,
		PhysicalPath:         filepath.Join(d.c.task.TaskDir, filepath.FromSlash(v.Path)),
		ExpectedPhysicalPath: d.tgt.physical,
		WarmupPath:           d.o.warmup,
		AllowStopStart:       d.o.allowRestart,
	}
	if d.o.warmup != "" {
		args.WarmupTimeoutMs = d.o.warmupTimeout.Milliseconds()
	}
	sw, err := d.s.iis.SwitchApplicationVersion(ctx, args)
	if err != nil {
		return nil, false, switchError(err)
	}
	previous := d.store.Current
	if added {
		d.store.Versions = append(d.store.Versions, v)
		d.store.Next++
	}
	d.store.Current = v.ID
	dropped := d.store.prune(cfg.DeployKeepVersions)
	if err := d.store.save(d.root()); err != nil {
		// Nothing is removed: the record on disk still names every folder.
		d.s.log.Error("version record not saved after a switch", "task_id", d.c.task.TaskID, "version", v.ID, "error", err)
		return nil, true, fmt.Errorf("version %s serves now, but %w", v.ID, err)
	}
	removed := d.removeDropped(dropped)
	return &deployResult{
		Application: d.tgt.appPath, VirtualDirectory: d.tgt.vdirPath, ApplicationPool: sw.AppPool,
		Version: v, PreviousVersion: previous, Mode: sw.Mode, WarmupStatus: sw.WarmupStatus,
		KeptVersions: d.store.ids(), RemovedVersions: removed,
	}, true, nil
}

// removeDropped removes the folders of versions beyond the bound, under
// the tree's commit gate so that no download is reading them.
func (d *deployment) removeDropped(dropped []deployVersion) []string {
	release, err := d.tree.CommitGate(commitWait(d.s.cfg))
	if err != nil {
		return []string{}
	}
	defer release()
	return d.store.removeFolders(d.root(), dropped)
}

// switchError explains a refused switch: a failed warm-up is 422, a pool
// that cannot overlap 409 (from the backend's Conflict).
func switchError(err error) error {
	var pe *ps.Error
	if errors.As(err, &pe) && pe.Kind == ps.KindInvalidArgument && strings.HasPrefix(pe.Message, "warmupPath:") {
		return &APIError{HTTPStatus: http.StatusUnprocessableEntity, Err: err,
			Message: "the new version failed its warm-up; the previous version still serves: " + strings.TrimPrefix(pe.Message, "warmupPath: ")}
	}
	return err
}
