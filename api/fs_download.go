package api

import (
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/nomad-iis/nomad-iis/api/fsroot"
	"github.com/nomad-iis/nomad-iis/api/ziputil"
)

// handleDownload serves GET (and HEAD) …/fs/{path}: a file with Range and
// conditional requests, a folder as a streamed ZIP.
func (s *Server) handleDownload(w http.ResponseWriter, r *http.Request, c *call) error {
	_, loc, release, err := s.openTarget(c, c.vars["path"], accessRead)
	if err != nil {
		return err
	}
	defer release()
	f, err := loc.Open()
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fsroot.MapError(loc.Rel, err)
	}
	switch {
	case fi.IsDir():
		_ = f.Close()
		return s.downloadDir(w, r, loc, release)
	case !fi.Mode().IsRegular(): // Open refuses these; kept as a backstop
		return &fsroot.SpecialFileError{Path: loc.Rel, Kind: fsroot.Kind(fi.Mode())}
	}
	release() // the open file keeps its content
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", attachment(fi.Name()))
	h.Set("Etag", fileETag(fi))
	h.Set("Cache-Control", "no-cache")
	setDownloadSafety(h)
	tr := newTransfer(w, s.cfg.TransferIdleTimeout)
	defer tr.done()
	// ServeContent answers Range, If-Range, If-None-Match, If-Modified-Since
	// and the other conditionals from the ETag and modification time.
	http.ServeContent(tr.writer(w), r, fi.Name(), fi.ModTime(), f)
	return nil
}

// downloadDir streams a folder as a ZIP. It is called holding the tree's
// read gate (released by release): it takes a snapshot of the folder, with
// every file opened, and releases the gate before the first byte is sent,
// so a slow client never holds off the task's uploads and deletes; they go
// ahead while it reads the content it started with. A folder with more
// files than a snapshot may hold is streamed under the gate, as uploads
// and deletes wait for at most fsroot.CommitWait.
func (s *Server) downloadDir(w http.ResponseWriter, r *http.Request, loc *fsroot.Loc, release func()) error {
	select {
	case s.zipSem <- struct{}{}:
		defer func() { <-s.zipSem }()
	default:
		return &APIError{HTTPStatus: http.StatusTooManyRequests, RetryAfter: 10 * time.Second,
			Message: fmt.Sprintf("%d folder downloads are already running; retry later", cap(s.zipSem))}
	}
	dir, err := loc.OpenDir()
	if err != nil {
		return err
	}
	defer dir.Close()
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Disposition", attachment(loc.Name+".zip"))
	h.Set("Cache-Control", "no-store")
	setDownloadSafety(h)
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return nil
	}
	// ReadFS refuses to open named pipes and devices: the walk skips them.
	content := fsroot.ReadFS(dir)
	snap, err := fsroot.TakeSnapshot(dir, s.snapshotFiles)
	switch {
	case err == nil:
		defer snap.Close()
		release()
		content = snap.FS()
	case errors.Is(err, fsroot.ErrSnapshotTooLarge):
		s.log.Debug("folder download streamed under the read gate", "path", loc.Rel, "reason", err)
	default:
		return fsroot.MapError(loc.Rel, err)
	}
	tr := newTransfer(w, s.cfg.TransferIdleTimeout)
	defer tr.done()
	w.WriteHeader(http.StatusOK)
	st, err := ziputil.WriteDir(tr.writer(w), content)
	if err != nil {
		return fmt.Errorf("stream %q as a ZIP: %w", loc.Rel, err)
	}
	if snap != nil {
		st.Skipped = append(snap.Skipped, st.Skipped...)
	}
	if len(st.Skipped) > 0 {
		s.log.Warn("folder download skipped entries that could not be read or are not regular files", "path", loc.Rel,
			"skipped", len(st.Skipped), "names", strings.Join(st.Skipped[:min(len(st.Skipped), maxSkippedLogged)], ", "))
	}
	return nil
}

// maxSkippedLogged bounds the names of skipped entries in one log line.
const maxSkippedLogged = 20

// fileETag is the entity tag of a file: its modification time and size.
func fileETag(fi fs.FileInfo) string {
	return fmt.Sprintf(`"%x-%x"`, fi.ModTime().UnixNano(), fi.Size())
}

// setDownloadSafety keeps a browser from rendering or sniffing a download.
func setDownloadSafety(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
}

// attachment is a Content-Disposition header value for name; non-ASCII names
// are encoded as RFC 2231 filename*.
func attachment(name string) string {
	v := mime.FormatMediaType("attachment", map[string]string{"filename": name})
	if v == "" {
		return "attachment"
	}
	return v
}
