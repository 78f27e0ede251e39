package client

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/nomad-iis/nomad-iis/api/ziputil"
)

// Source is the body of an upload. Open is called once per attempt (a retry
// sends the body again), and the reader is closed after each.
type Source interface {
	// Open returns the body and its size (-1 when unknown: sent chunked).
	Open() (io.ReadCloser, int64, error)
	// ContentType is application/zip for an archive the API extracts, else
	// application/octet-stream (a file stored as it is).
	ContentType() string
	// Describe names the source for messages.
	Describe() string
}

// DirSource zips the folder Dir while it is uploaded: the archive is
// written into a pipe that the request reads, so no temporary archive
// exists and the compression overlaps the transfer. Folders (empty ones
// too) become entries; links are not followed, as in the API's own
// downloads; files already compressed are stored, the rest deflated at the
// fastest level.
type DirSource struct {
	Dir string
}

// ContentType implements Source.
func (DirSource) ContentType() string { return "application/zip" }

// Describe implements Source.
func (s DirSource) Describe() string { return "folder " + s.Dir }

// Open starts zipping the folder into a pipe. A file that cannot be read
// (or a pipe, socket or device in the tree) aborts the body before its end,
// so the API receives an interrupted upload and changes nothing; the error
// names the files.
func (s DirSource) Open() (io.ReadCloser, int64, error) {
	info, err := os.Stat(s.Dir)
	if err != nil {
		return nil, 0, fmt.Errorf("zip %s: %w", s.Dir, err)
	}
	if !info.IsDir() {
		return nil, 0, fmt.Errorf("zip %s: not a folder", s.Dir)
	}
	root, err := os.OpenRoot(s.Dir)
	if err != nil {
		return nil, 0, fmt.Errorf("zip %s: %w", s.Dir, err)
	}
	pr, pw := io.Pipe()
	z := &zipReader{pr: pr, done: make(chan struct{})}
	go func() {
		defer close(z.done)
		defer root.Close()
		st, err := ziputil.WriteDir(pw, root.FS())
		if err == nil && len(st.Skipped) > 0 {
			err = &SkippedFilesError{Dir: s.Dir, Files: st.Skipped}
		}
		if err != nil {
			z.setErr(fmt.Errorf("zip %s: %w", s.Dir, err))
			pw.CloseWithError(err)
			return
		}
		pw.Close()
	}()
	return z, -1, nil
}

// SkippedFilesError says which files of a folder could not be read (or are
// pipes, sockets or devices); the upload was aborted.
type SkippedFilesError struct {
	Dir   string
	Files []string
}

// Error implements error.
func (e *SkippedFilesError) Error() string {
	list := e.Files
	more := ""
	if len(list) > 5 {
		list, more = list[:5], fmt.Sprintf(" and %d more", len(e.Files)-5)
	}
	return fmt.Sprintf("cannot read %s%s (nothing was uploaded)", strings.Join(list, ", "), more)
}

// zipReader is the reading end of a folder being zipped. Close stops the
// writer and waits for it.
type zipReader struct {
	pr   *io.PipeReader
	done chan struct{}
	mu   sync.Mutex
	err  error
}

func (z *zipReader) Read(p []byte) (int, error) { return z.pr.Read(p) }

func (z *zipReader) Close() error {
	z.pr.CloseWithError(errors.New("upload ended"))
	<-z.done
	return nil
}

func (z *zipReader) setErr(err error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.err = err
}

// Err is the zipping error, if any, once Close has returned.
func (z *zipReader) Err() error {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.err
}

// FileSource uploads the file Path as it is: a ZIP archive (Zip true) that
// the API extracts into the target folder, or any file stored at the target
// path.
type FileSource struct {
	Path string
	Zip  bool
}

// ContentType implements Source.
func (s FileSource) ContentType() string {
	if s.Zip {
		return "application/zip"
	}
	return "application/octet-stream"
}

// Describe implements Source.
func (s FileSource) Describe() string { return "file " + s.Path }

// Open implements Source.
func (s FileSource) Open() (io.ReadCloser, int64, error) {
	f, err := os.Open(s.Path)
	if err != nil {
		return nil, 0, fmt.Errorf("open %s: %w", s.Path, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("stat %s: %w", s.Path, err)
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, 0, fmt.Errorf("%s is not a regular file", s.Path)
	}
	return f, info.Size(), nil
}
