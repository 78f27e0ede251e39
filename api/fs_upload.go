package api

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/shirou/gopsutil/v4/disk"

	"github.com/nomad-iis/nomad-iis/api/fsroot"
	"github.com/nomad-iis/nomad-iis/api/ziputil"
)

// uploadResult is the body of a successful upload.
type uploadResult struct {
	Path string `json:"path"`
	// Kind is "zip" (extracted into the folder) or "file".
	Kind  string `json:"kind"`
	Clean bool   `json:"clean"`
	// Files and Folders count the archive's entries (Files is 1 for a file).
	Files   int   `json:"files"`
	Folders int   `json:"folders"`
	Bytes   int64 `json:"bytes"`
	// Created is true when the target did not exist before.
	Created bool `json:"created"`
	// Replaced counts existing entries moved aside (clean) or overwritten.
	Replaced int `json:"replaced"`
	// StoppedAppPools were stopped for the write and started again (PUT).
	StoppedAppPools []string `json:"stoppedApplicationPools"`
}

// handleUploadStopped serves PUT …/fs/{path}: the pools are stopped for the
// moment the new content is put in place, and restored to their state.
func (s *Server) handleUploadStopped(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.upload(w, r, c, true)
}

// handleUploadHot serves PATCH …/fs/{path}: the same, with the pools running.
func (s *Server) handleUploadHot(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.upload(w, r, c, false)
}

// isZipUpload reports whether a Content-Type asks for extraction. The
// misspelt "application-zip" of the nomad-iis documentation is accepted.
func isZipUpload(contentType string) bool {
	ct := strings.ToLower(strings.TrimSpace(contentType))
	if strings.HasPrefix(ct, "application-zip") {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/zip" || mt == "application/x-zip-compressed"
}

func parseBool(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, apiErr(http.StatusBadRequest, "query parameter %s=%q must be true or false", name, v)
	}
	return b, nil
}

// upload spools the body (to disk, bounded), checks it, builds the new
// content next to the target, and only then, with the pools stopped for PUT,
// puts it in place. Until that last step the target is untouched; a failure
// in the last step is rolled back.
func (s *Server) upload(w http.ResponseWriter, r *http.Request, c *call, stop bool) (err error) {
	clean, err := parseBool(r, "clean")
	if err != nil {
		return err
	}
	if cr := r.Header.Get("Content-Range"); cr != "" {
		return s.rangeUpload(w, r, c, stop, clean, cr) // fs_range.go
	}
	if r.ContentLength > s.cfg.MaxUploadBytes {
		return apiErr(http.StatusRequestEntityTooLarge, "the body has %d bytes; the limit is %d (%s)", r.ContentLength, s.cfg.MaxUploadBytes, FlagMaxUpload)
	}
	defer func() {
		if err != nil && r.ContentLength != 0 {
			// The body may be partly unread: do not keep the connection
			// (net/http would try to drain what the client may never send).
			w.Header().Set("Connection", "close")
		}
	}()
	tree, loc, release, err := s.openTarget(c, c.vars["path"], accessWrite)
	if err != nil {
		return err
	}
	defer release()
	loc.CleanStale() // what an upload interrupted by a crash left
	u := &upload{s: s, task: c.task, tree: tree, loc: loc, clean: clean, stop: stop,
		pre: preconditions{ifMatch: r.Header.Get("If-Match"), ifNoneMatch: r.Header.Get("If-None-Match")},
		res: uploadResult{Path: loc.Rel, StoppedAppPools: []string{}}}
	defer u.close()
	tr := newTransfer(w, s.cfg.TransferIdleTimeout)
	defer tr.done()
	body := tr.reader(http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadBytes))

	if isZipUpload(r.Header.Get("Content-Type")) {
		c.auditNote = "zip"
		err = u.stageZip(r.Context(), body)
	} else {
		c.auditNote = "file"
		err = u.stageFile(body, r.ContentLength)
	}
	if err == nil {
		err = u.place(r.Context())
	}
	if err != nil {
		return err
	}
	s.dropPart(c.task, loc) // fs_range.go
	u.res.Clean = clean && u.res.Kind == "zip"
	verb := "hot-patched"
	if stop {
		verb = "uploaded"
	}
	s.reg.Emit(c.task.TaskID, fmt.Sprintf("Management API %s %s (%d files, %d bytes)", verb, loc.Rel, u.res.Files, u.res.Bytes))
	return writeJSON(w, u.res)
}

// upload is one PUT or PATCH of …/fs/{path}, from the located target to the
// result it reports. Its methods run in order: stageZip or stageFile builds
// the new content next to the target, place puts it there, close removes
// what is left.
type upload struct {
	s    *Server
	task Task
	tree *fsroot.Tree
	// loc is the target; the missing folders above it were created.
	loc *fsroot.Loc
	// clean replaces a folder's content instead of merging into it (ZIP).
	clean bool
	// stop stops the task's pools while the content is put in place (PUT).
	stop bool
	pre  preconditions

	// spool holds a ZIP body under spoolName at the top of the task
	// directory: zip.Reader needs random access, and the body is never held
	// in memory.
	spool     *os.File
	spoolName string
	// staged is the new content, built next to the target.
	staged fsroot.Staged
	// placed is true once the content is in place.
	placed bool
	res    uploadResult
}

// spoolZip copies the body into the spool and opens it as an archive of
// the returned size.
func (u *upload) spoolZip(body io.Reader) (*zip.Reader, int64, error) {
	name := fsroot.StagingName(".zip")
	spool, err := u.tree.Root().OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, 0, fmt.Errorf("create upload spool: %w", fsroot.MapError(u.loc.Rel, err))
	}
	u.spool, u.spoolName = spool, name
	n, err := io.Copy(spool, body)
	if err != nil {
		return nil, 0, bodyError(err)
	}
	zr, err := zip.NewReader(spool, n)
	if err != nil {
		return nil, 0, apiErr(http.StatusBadRequest, "the body is not a ZIP archive (%v); send Content-Type: application/octet-stream to upload a file as it is", err)
	}
	return zr, n, nil
}

// stageZip spools and validates the archive, checks the preconditions, and
// extracts the archive into a stage next to the target folder.
func (u *upload) stageZip(ctx context.Context, body io.Reader) error {
	u.res.Kind = "zip"
	zr, size, err := u.spoolZip(body)
	if err != nil {
		return err
	}
	return u.extractZip(ctx, zr, size)
}

// extractZip validates the archive zr of size bytes, checks the
// preconditions, and extracts it into a stage next to the target folder.
func (u *upload) extractZip(ctx context.Context, zr *zip.Reader, size int64) error {
	u.res.Kind = "zip"
	cfg := u.s.cfg
	limits := ziputil.Limits{MaxEntries: cfg.MaxZipEntries, MaxTotalBytes: cfg.MaxZipBytes, MaxRatio: cfg.MaxZipRatio, Dir: u.loc.Rel}
	m, err := ziputil.Validate(zr, limits)
	if err != nil {
		return err
	}
	if err := checkFreeSpace(u.tree.Dir(), m.TotalBytes); err != nil {
		return err
	}
	if err := u.pre.check(u.loc); err != nil {
		return err
	}
	if fi, err := u.loc.Lstat(); err == nil && !fi.IsDir() {
		return apiErr(http.StatusConflict, "%q is a file; an archive is extracted into a folder (send Content-Type: application/octet-stream to replace the file)", u.loc.Rel)
	}
	stage, err := u.loc.NewStage(u.clean)
	if err != nil {
		return err
	}
	u.staged = stage
	written, err := ziputil.Extract(ctx, zr, stage.Root, limits.MaxExtracted(size))
	if err != nil {
		return fmt.Errorf("extract the archive (nothing was changed): %w", err)
	}
	u.res.Files, u.res.Folders, u.res.Bytes = m.Files, m.Dirs, written
	return nil
}

// stageFile checks the preconditions and writes the body (size bytes, or
// unknown when negative) into a file next to the target.
func (u *upload) stageFile(body io.Reader, size int64) error {
	u.res.Kind, u.res.Files = "file", 1
	if size > 0 {
		if err := checkFreeSpace(u.tree.Dir(), uint64(size)); err != nil {
			return err
		}
	}
	if err := u.pre.check(u.loc); err != nil {
		return err
	}
	pending, err := u.loc.SpoolFile(body)
	if err != nil {
		return bodyError(err)
	}
	u.staged = pending
	u.res.Bytes = pending.Size
	return nil
}

// place applies the staged content under the tree's commit gate, with the
// task's pools stopped around it for PUT. The gate is taken before the
// pools are stopped: a running folder download delays the deploy, never
// the site. place is detached from the request: once the body is in, a
// client that goes away does not leave the pools stopped or the content
// half applied.
func (u *upload) place(ctx context.Context) error {
	release, err := u.tree.CommitGate(commitWait(u.s.cfg))
	if err != nil {
		return err
	}
	defer release()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), u.s.cfg.PoolStopTimeout+u.s.cfg.RequestTimeout)
	defer cancel()
	if !u.stop {
		return u.apply()
	}
	stopped, err := u.s.withPoolsStopped(ctx, u.task, "upload to "+u.loc.Rel, u.apply)
	if stopped != nil {
		u.res.StoppedAppPools = stopped
	}
	return err
}

// apply puts the staged content in place; place calls it with the commit
// gate held.
func (u *upload) apply() error {
	r, err := u.staged.Apply()
	if err != nil {
		return err
	}
	u.placed = true
	u.res.Created, u.res.Replaced = r.Created, r.Replaced
	return nil
}

// close removes what the upload left beside the target: the staged content
// (after an Apply, only the backup), the spooled archive and, unless the
// content was placed, the folders created for the target.
func (u *upload) close() {
	if u.staged != nil {
		u.staged.Discard()
	}
	if !u.placed {
		u.loc.RemoveCreated()
	}
	if u.spool != nil {
		_ = u.spool.Close()
		_ = u.tree.Root().Remove(u.spoolName)
	}
}

// preconditions are an upload's If-Match and If-None-Match headers: a
// client that read a file (and its ETag) can make sure it replaces that
// version and not one written meanwhile ("*" matches any existing target).
type preconditions struct {
	ifMatch, ifNoneMatch string
}

func (p preconditions) check(loc *fsroot.Loc) error {
	if p.ifMatch == "" && p.ifNoneMatch == "" {
		return nil
	}
	fi, err := loc.Lstat()
	exists := err == nil
	etag := ""
	if exists && fi.Mode().IsRegular() {
		etag = fileETag(fi)
	}
	if p.ifMatch != "" && (!exists || (strings.TrimSpace(p.ifMatch) != "*" && !etagIn(p.ifMatch, etag))) {
		return apiErr(http.StatusPreconditionFailed, "%q does not match If-Match %s (it is %s); read it again before replacing it", loc.Rel, p.ifMatch, describeETag(exists, etag))
	}
	if p.ifNoneMatch != "" && exists && (strings.TrimSpace(p.ifNoneMatch) == "*" || etagIn(p.ifNoneMatch, etag)) {
		return apiErr(http.StatusPreconditionFailed, "%q exists (If-None-Match %s)", loc.Rel, p.ifNoneMatch)
	}
	return nil
}

func describeETag(exists bool, etag string) string {
	switch {
	case !exists:
		return "missing"
	case etag == "":
		return "a folder"
	}
	return etag
}

// etagIn reports whether the If-Match list holds etag (weak tags compare
// by their opaque part).
func etagIn(list, etag string) bool {
	if etag == "" {
		return false
	}
	for _, t := range strings.Split(list, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == etag {
			return true
		}
	}
	return false
}

// bodyError explains a failure while reading the request body.
func bodyError(err error) error {
	var maxBytes *http.MaxBytesError
	if errors.As(err, &maxBytes) {
		return err
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return err
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return &APIError{HTTPStatus: http.StatusRequestTimeout, Err: err, Message: "the upload stalled; nothing was changed"}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "connection reset") {
		return &APIError{HTTPStatus: http.StatusBadRequest, Err: err, Message: "the upload was interrupted; nothing was changed"}
	}
	return err
}

// checkFreeSpace refuses an upload that would not fit on the task's volume,
// with a margin of 64 MiB.
func checkFreeSpace(dir string, need uint64) error {
	u, err := disk.Usage(dir)
	if err != nil {
		return nil // unknown: let the write fail on its own
	}
	const margin = 64 << 20
	if u.Free < need+margin {
		return apiErr(http.StatusInsufficientStorage, "the upload needs %d bytes but the task's volume has %d free", need, u.Free)
	}
	return nil
}
