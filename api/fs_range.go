package api

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/nomad-iis/nomad-iis/api/fsroot"
)

// Headers of a range upload. Their names follow the IETF draft "Resumable
// Uploads for HTTP" (draft-ietf-httpbis-resumable-upload).
const (
	// headerUploadOffset is the number of bytes received, from byte 0: the
	// next part starts at or before it.
	headerUploadOffset = "Upload-Offset"
	// headerUploadLength is the total size of the unfinished upload.
	headerUploadLength = "Upload-Length"
)

// contentRange is a request's Content-Range: bytes First-Last/Total.
type contentRange struct{ first, last, total int64 }

var contentRangeRE = regexp.MustCompile(`^bytes ([0-9]{1,19})-([0-9]{1,19})/([0-9]{1,19})$`)

// parseContentRange parses and checks v against a body of length bytes.
func parseContentRange(v string, length int64) (contentRange, error) {
	m := contentRangeRE.FindStringSubmatch(v)
	bad := func(why string) (contentRange, error) {
		return contentRange{}, apiErr(http.StatusBadRequest, "Content-Range %q %s; the form is \"bytes <first>-<last>/<total>\", with first <= last < total", v, why)
	}
	if m == nil {
		return bad("is malformed")
	}
	var cr contentRange
	var err1, err2, err3 error
	cr.first, err1 = strconv.ParseInt(m[1], 10, 64)
	cr.last, err2 = strconv.ParseInt(m[2], 10, 64)
	cr.total, err3 = strconv.ParseInt(m[3], 10, 64)
	switch {
	case err1 != nil || err2 != nil || err3 != nil:
		return bad("has a number out of range")
	case cr.first > cr.last:
		return bad("ends before it starts")
	case cr.last >= cr.total:
		return bad(fmt.Sprintf("goes beyond the total (byte %d of %d)", cr.last, cr.total))
	}
	if length < 0 {
		return contentRange{}, apiErr(http.StatusLengthRequired, "a part sent with Content-Range needs a Content-Length (no chunked encoding)")
	}
	if n := cr.last - cr.first + 1; length != n {
		return contentRange{}, apiErr(http.StatusBadRequest, "Content-Range %q announces %d bytes but Content-Length is %d", v, n, length)
	}
	return cr, nil
}

// partialUpload is the body of the answer to a part that leaves the upload
// unfinished.
type partialUpload struct {
	Path     string `json:"path"`
	Received int64  `json:"received"`
	Total    int64  `json:"total"`
	Complete bool   `json:"complete"`
}

// rangeUpload serves a PUT or PATCH of …/fs/{path} with Content-Range: the
// part is written into the target's unfinished upload, a reserved file next
// to it; when all bytes are in, that file is put in place as a whole upload
// is (renamed over the target, or extracted for application/zip), with the
// pools stopped for PUT. Until then the target is untouched.
func (s *Server) rangeUpload(w http.ResponseWriter, r *http.Request, c *call, stop, clean bool, header string) (err error) {
	cr, err := parseContentRange(header, r.ContentLength)
	if err != nil {
		return err
	}
	if cr.total > s.cfg.MaxUploadBytes {
		return apiErr(http.StatusRequestEntityTooLarge, "the upload's total is %d bytes; the limit is %d (%s)", cr.total, s.cfg.MaxUploadBytes, FlagMaxUpload)
	}
	defer func() {
		if err != nil {
			w.Header().Set("Connection", "close")
		}
	}()
	tree, loc, release, err := s.openTarget(c, c.vars["path"], accessWrite)
	if err != nil {
		return err
	}
	defer release()
	loc.CleanStale()
	c.auditNote = fmt.Sprintf("part %d-%d/%d", cr.first, cr.last, cr.total)
	part, err := loc.OpenPart(cr.total, cr.first == 0)
	if err != nil {
		var pt *fsroot.PartTotalError
		if errors.As(err, &pt) {
			setUploadHeaders(w, pt.Received, pt.Total)
			return &APIError{HTTPStatus: http.StatusConflict, Message: pt.Error(), Err: err}
		}
		return err
	}
	if cr.first > part.Received {
		setUploadHeaders(w, part.Received, part.Total)
		return apiErr(http.StatusRequestedRangeNotSatisfiable, "the part starts at byte %d but only %d bytes of %q are in; send the part starting at byte %d (HEAD tells it too)", cr.first, part.Received, loc.Rel, part.Received)
	}
	if part.Received == 0 {
		if err := checkFreeSpace(tree.Dir(), uint64(cr.total)); err != nil {
			return err
		}
	}
	tr := newTransfer(w, s.cfg.TransferIdleTimeout)
	defer tr.done()
	n := cr.last - cr.first + 1
	_, werr := part.Write(tr.reader(http.MaxBytesReader(w, r.Body, n)), cr.first, n)
	s.parts.touch(c.task, loc.Rel)
	setUploadHeaders(w, part.Received, part.Total)
	if werr != nil {
		if ae := classify(bodyError(werr)); ae.HTTPStatus == http.StatusBadRequest || ae.HTTPStatus == http.StatusRequestTimeout {
			return &APIError{HTTPStatus: ae.HTTPStatus, Err: werr,
				Message: fmt.Sprintf("the part was interrupted; %d bytes of %q are in, resume at byte %d", part.Received, loc.Rel, part.Received)}
		}
		return werr
	}
	if !part.Complete() {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusAccepted)
		return json.NewEncoder(w).Encode(partialUpload{Path: loc.Rel, Received: part.Received, Total: part.Total})
	}
	return s.completePart(w, r, c, tree, loc, part, stop, clean)
}

// completePart puts a complete part in place, as a whole upload would be.
// If that fails, the part stays: sending its last part again retries.
func (s *Server) completePart(w http.ResponseWriter, r *http.Request, c *call, tree *fsroot.Tree, loc *fsroot.Loc, part *fsroot.Part, stop, clean bool) error {
	u := &upload{s: s, task: c.task, tree: tree, loc: loc, clean: clean, stop: stop,
		pre: preconditions{ifMatch: r.Header.Get("If-Match"), ifNoneMatch: r.Header.Get("If-None-Match")},
		res: uploadResult{Path: loc.Rel, StoppedAppPools: []string{}}}
	defer u.close()
	zipped := isZipUpload(r.Header.Get("Content-Type"))
	closeZip := func() {}
	var err error
	if zipped {
		// The complete part is the archive: extracted from where it is,
		// not spooled again.
		f, oerr := part.Open()
		if oerr != nil {
			return oerr
		}
		// Closed before the part is removed: Windows does not delete an
		// open file.
		defer func() { _ = f.Close() }()
		closeZip = func() { _ = f.Close() }
		zr, zerr := zip.NewReader(f, part.Received)
		if zerr != nil {
			return apiErr(http.StatusBadRequest, "the upload is not a ZIP archive (%v); send Content-Type: application/octet-stream with the last part to store it as a file", zerr)
		}
		err = u.extractZip(r.Context(), zr, part.Received)
	} else {
		u.res.Kind, u.res.Files, u.res.Bytes = "file", 1, part.Received
		if err = u.pre.check(loc); err == nil {
			u.staged = part.Pending()
		}
	}
	if err == nil {
		err = u.place(r.Context())
	}
	if err != nil {
		if !zipped {
			u.staged = nil // keep the part
		}
		return err
	}
	if zipped {
		closeZip()
		part.Remove()
	}
	s.parts.forget(c.task, loc.Rel)
	u.res.Clean = clean && zipped
	s.reg.Emit(c.task.TaskID, fmt.Sprintf("Management API uploaded %s in parts (%d files, %d bytes)", loc.Rel, u.res.Files, u.res.Bytes))
	return writeJSON(w, u.res)
}

func setUploadHeaders(w http.ResponseWriter, received, total int64) {
	w.Header().Set(headerUploadOffset, strconv.FormatInt(received, 10))
	w.Header().Set(headerUploadLength, strconv.FormatInt(total, 10))
}

// handleHead serves HEAD …/fs/{path}: a download's headers and, while an
// upload of the path is unfinished, Upload-Offset and Upload-Length, so
// that a client knows where to resume. A path that does not exist yet but
// has an unfinished upload answers 204.
func (s *Server) handleHead(w http.ResponseWriter, r *http.Request, c *call) error {
	var part *fsroot.Part
	if _, loc, release, err := s.openTarget(c, c.vars["path"], accessList); err == nil {
		part, _ = loc.FindPart()
		release()
	}
	if part != nil {
		setUploadHeaders(w, part.Received, part.Total)
		w.Header().Set("Cache-Control", "no-store")
	}
	err := s.handleDownload(w, r, c)
	if part != nil && errors.Is(err, fs.ErrNotExist) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return err
}

// partIndex remembers the unfinished range uploads this process received
// parts of, for the janitor: one whose last part is older than
// fsroot.PartRetention, or whose task ended, is deleted.
type partIndex struct {
	mu sync.Mutex
	m  map[partKey]partEntry
	// now is the clock (tests move it).
	now func() time.Time
}

type partKey struct{ taskID, rel string }

type partEntry struct {
	task    Task
	touched time.Time
}

func newPartIndex() *partIndex {
	return &partIndex{m: map[partKey]partEntry{}, now: time.Now}
}

func (p *partIndex) touch(t Task, rel string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.m[partKey{t.TaskID, rel}] = partEntry{task: t, touched: p.now()}
}

func (p *partIndex) forget(t Task, rel string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.m, partKey{t.TaskID, rel})
}

// due returns, and forgets, the uploads to delete now.
func (p *partIndex) due(reg Registry) map[partKey]partEntry {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[partKey]partEntry{}
	for k, e := range p.m {
		if p.now().Sub(e.touched) >= fsroot.PartRetention || !alive(reg, e.task) {
			out[k] = e
			delete(p.m, k)
		}
	}
	return out
}

// sweepParts deletes the abandoned range uploads. One whose task is busy
// is kept for the next sweep; one whose task ended is left to Nomad, which
// deletes the task directory.
func (s *Server) sweepParts() int {
	n := 0
	for k, e := range s.parts.due(s.reg) {
		if !alive(s.reg, e.task) {
			continue
		}
		unlock, busy := s.locks.tryLock(k.taskID, "remove the abandoned upload of "+k.rel)
		if unlock == nil {
			s.log.Debug("abandoned upload kept for the next sweep: the task is busy", "path", k.rel, "busy", busy)
			s.parts.mu.Lock()
			s.parts.m[k] = e
			s.parts.mu.Unlock()
			continue
		}
		if err := s.removePart(e.task, k.rel); err != nil {
			s.log.Warn("remove an abandoned upload", "task_id", k.taskID, "path", k.rel, "error", err)
		} else {
			n++
		}
		unlock()
	}
	return n
}

// dropPart deletes the unfinished upload in parts of loc's target, if any:
// a whole upload or a delete of the same path supersedes it, so a client
// that resumes it later starts again from byte 0 instead of completing over
// the newer content.
func (s *Server) dropPart(t Task, loc *fsroot.Loc) {
	if err := loc.RemovePart(); err != nil {
		s.log.Warn("remove the unfinished upload in parts", "task_id", t.TaskID, "path", loc.Rel, "error", err)
	}
	s.parts.forget(t, loc.Rel)
}

// removePart deletes the unfinished upload in parts of rel in t.
func (s *Server) removePart(t Task, rel string) error {
	tree, err := openTree(t)
	if err != nil {
		return err
	}
	defer tree.Close()
	loc, err := tree.Locate(rel, false)
	if err != nil {
		return err
	}
	defer loc.Close()
	return loc.RemovePart()
}
