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
func (s *Server) upload(w http.ResponseWriter, r *http.Request, c *call, stop bool) error {
	rel, err := fsroot.Clean(c.vars["path"])
	if err != nil {
		return err
	}
	c.auditPath = rel
	clean, err := parseBool(r, "clean")
	if err != nil {
		return err
	}
	if r.ContentLength > s.cfg.MaxUploadBytes {
		return apiErr(http.StatusRequestEntityTooLarge, "the body has %d bytes; the limit is %d (%s)", r.ContentLength, s.cfg.MaxUploadBytes, FlagMaxUpload)
	}
	release, err := s.locks.lockTask(c.task.TaskID, "upload to "+rel)
	if err != nil {
		return err
	}
	defer release()
	tree, err := openTree(c.task)
	if err != nil {
		return err
	}
	defer tree.Close()
	tr := newTransfer(w, s.cfg.TransferIdleTimeout)
	defer tr.done()
	body := tr.reader(http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadBytes))

	pre := preconditions{ifMatch: r.Header.Get("If-Match"), ifNoneMatch: r.Header.Get("If-None-Match")}
	res := uploadResult{StoppedAppPools: []string{}}
	if isZipUpload(r.Header.Get("Content-Type")) {
		c.auditNote = "zip"
		res, err = s.uploadZip(r.Context(), c, tree, rel, body, clean, stop, pre)
	} else {
		c.auditNote = "file"
		res, err = s.uploadFile(r.Context(), c, tree, rel, body, r.ContentLength, stop, pre)
	}
	if err != nil {
		if r.ContentLength != 0 {
			// The body may be partly unread: do not keep the connection
			// (net/http would try to drain what the client may never send).
			w.Header().Set("Connection", "close")
		}
		return err
	}
	res.Path, res.Clean = rel, clean && res.Kind == "zip"
	verb := "hot-patched"
	if stop {
		verb = "uploaded"
	}
	s.reg.Emit(c.task.TaskID, fmt.Sprintf("Management API %s %s (%d files, %d bytes)", verb, rel, res.Files, res.Bytes))
	return writeJSON(w, res)
}

func (s *Server) uploadZip(ctx context.Context, c *call, tree *fsroot.Tree, rel string, body io.Reader, clean, stop bool, pre preconditions) (uploadResult, error) {
	res := uploadResult{Kind: "zip", StoppedAppPools: []string{}}
	// The archive is spooled at the top of the task directory under a
	// reserved name: zip.Reader needs random access, and the body is never
	// held in memory.
	spoolName := fsroot.StagingName(".zip")
	spool, err := tree.Root().OpenFile(spoolName, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return res, fmt.Errorf("create upload spool: %w", fsroot.MapError(rel, err))
	}
	defer func() {
		_ = spool.Close()
		_ = tree.Root().Remove(spoolName)
	}()
	n, err := io.Copy(spool, body)
	if err != nil {
		return res, bodyError(err)
	}
	zr, err := zip.NewReader(spool, n)
	if err != nil {
		return res, apiErr(http.StatusBadRequest, "the body is not a ZIP archive (%v); send Content-Type: application/octet-stream to upload a file as it is", err)
	}
	m, err := ziputil.Validate(zr, ziputil.Limits{MaxEntries: s.cfg.MaxZipEntries, MaxTotalBytes: s.cfg.MaxZipBytes, MaxRatio: s.cfg.MaxZipRatio})
	if err != nil {
		return res, err
	}
	if err := checkFreeSpace(tree.Dir(), m.TotalBytes); err != nil {
		return res, err
	}
	prepare := func(loc *fsroot.Loc) (apply func() error, discard func(), err error) {
		if fi, err := loc.Lstat(); err == nil && !fi.IsDir() {
			return nil, nil, apiErr(http.StatusConflict, "%q is a file; an archive is extracted into a folder (send Content-Type: application/octet-stream to replace the file)", rel)
		}
		stage, err := loc.NewStage()
		if err != nil {
			return nil, nil, err
		}
		written, err := ziputil.Extract(ctx, zr, stage.Root)
		if err != nil {
			return nil, stage.Discard, fmt.Errorf("extract the archive (nothing was changed): %w", err)
		}
		res.Files, res.Folders, res.Bytes = m.Files, m.Dirs, written
		apply = func() error {
			r, err := stage.CommitHeld(clean)
			res.Created, res.Replaced = r.Created, r.Replaced
			return err
		}
		return apply, stage.Discard, nil
	}
	err = s.placeUpload(ctx, c.task, tree, rel, stop, pre, &res, prepare)
	return res, err
}

func (s *Server) uploadFile(ctx context.Context, c *call, tree *fsroot.Tree, rel string, body io.Reader, size int64, stop bool, pre preconditions) (uploadResult, error) {
	res := uploadResult{Kind: "file", Files: 1, StoppedAppPools: []string{}}
	if size > 0 {
		if err := checkFreeSpace(tree.Dir(), uint64(size)); err != nil {
			return res, err
		}
	}
	prepare := func(loc *fsroot.Loc) (apply func() error, discard func(), err error) {
		_, statErr := loc.Lstat()
		res.Created = statErr != nil
		pending, err := loc.SpoolFile(body)
		if err != nil {
			return nil, nil, bodyError(err)
		}
		res.Bytes = pending.Size
		if !res.Created {
			res.Replaced = 1
		}
		return pending.CommitHeld, pending.Discard, nil
	}
	err := s.placeUpload(ctx, c.task, tree, rel, stop, pre, &res, prepare)
	return res, err
}

// placeUpload puts an upload at rel: it locates the target (creating the missing
// folders above it), checks the preconditions, lets prepare build the new
// content next to the target, and applies it under the tree's commit gate,
// with the pools stopped for PUT. The gate is taken before the pools are
// stopped: a running folder download delays the deploy, never the site.
// What prepare built is discarded at the end (after a commit that is a
// no-op), and on failure the folders created for the target are removed.
func (s *Server) placeUpload(ctx context.Context, t Task, tree *fsroot.Tree, rel string, stop bool, pre preconditions, res *uploadResult,
	prepare func(loc *fsroot.Loc) (apply func() error, discard func(), err error)) error {
	loc, err := tree.Locate(rel, true)
	if err != nil {
		return err
	}
	defer loc.Close()
	loc.CleanStale()
	// The staged content goes first, then the folders Locate created.
	var discard func()
	ok := false
	defer func() {
		if discard != nil {
			discard()
		}
		if !ok {
			loc.RemoveCreated()
		}
	}()
	if err := pre.check(loc); err != nil {
		return err
	}
	apply, discardStaged, err := prepare(loc)
	discard = discardStaged
	if err != nil {
		return err
	}
	release := tree.CommitGate()
	defer release()
	if err := s.applyUpload(ctx, t, rel, stop, apply, res); err != nil {
		return err
	}
	ok = true
	return nil
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

// applyUpload runs apply, with the task's pools stopped around it for PUT.
// It is detached from the request: once the body is in, a client that goes
// away does not leave the pools stopped or the content half applied.
func (s *Server) applyUpload(ctx context.Context, t Task, rel string, stop bool, apply func() error, res *uploadResult) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.PoolStopTimeout+s.cfg.RequestTimeout)
	defer cancel()
	if !stop {
		return apply()
	}
	stopped, err := s.withPoolsStopped(ctx, t, "upload to "+rel, apply)
	if stopped != nil {
		res.StoppedAppPools = stopped
	}
	return err
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
