package fsroot

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
)

// PartRetention is how long an unfinished range upload is kept after its
// last part arrived; then it is deleted (by the API's janitor, or by the
// next upload to the same folder if the plugin restarted meanwhile).
const PartRetention = time.Hour

// partPrefix starts the reserved names of unfinished range uploads:
// partPrefix + a hash of the target's name + "-" + the total size.
const partPrefix = StagingPrefix + "-part-"

// isPart reports whether name is an unfinished range upload.
func isPart(name string) bool { return strings.HasPrefix(strings.ToLower(name), partPrefix) }

// partStem is the start of the part names of the target name (compared
// case-insensitively, as Windows compares names).
func partStem(name string) string {
	h := sha256.Sum256([]byte(strings.ToLower(name)))
	return partPrefix + hex.EncodeToString(h[:8]) + "-"
}

// Part is an unfinished range upload of a target: a file next to it under
// a reserved name, holding the bytes received so far, from byte 0 without
// gaps. It becomes the target (one rename) when Total bytes are in.
type Part struct {
	loc  *Loc
	name string
	// Total is the size the file will have.
	Total int64
	// Received is the number of bytes in, from byte 0; the next part
	// starts at or before it.
	Received int64
	// Modified is when the last part was written.
	Modified time.Time
}

// PartTotalError reports a part whose total differs from the unfinished
// upload of the same target.
type PartTotalError struct {
	Path                  string
	Total, Received, Want int64
}

// Error implements error.
func (e *PartTotalError) Error() string {
	return fmt.Sprintf("an unfinished upload of %q with a total of %d bytes (%d received) is in progress, not %d; resume it, or start again from byte 0", e.Path, e.Total, e.Received, e.Want)
}

// FindPart returns the unfinished range upload of the target, or nil.
func (l *Loc) FindPart() (*Part, error) {
	names, err := readNames(l.Parent, ".")
	if err != nil {
		return nil, MapError(l.Rel, err)
	}
	stem := partStem(l.Name)
	for _, n := range names {
		if !strings.HasPrefix(n, stem) {
			continue
		}
		total, err := strconv.ParseInt(strings.TrimPrefix(n, stem), 10, 64)
		if err != nil || total <= 0 {
			continue
		}
		fi, err := l.Parent.Lstat(n)
		if err != nil || !fi.Mode().IsRegular() {
			continue
		}
		return &Part{loc: l, name: n, Total: total, Received: fi.Size(), Modified: fi.ModTime()}, nil
	}
	return nil, nil
}

// OpenPart returns the unfinished upload of the target with this total, or
// a new one. An unfinished upload with another total is a *PartTotalError,
// unless restart (a part starting at byte 0) replaces it.
func (l *Loc) OpenPart(total int64, restart bool) (*Part, error) {
	p, err := l.FindPart()
	if err != nil {
		return nil, err
	}
	if p != nil && p.Total != total {
		if !restart {
			return nil, &PartTotalError{Path: l.Rel, Total: p.Total, Received: p.Received, Want: total}
		}
		p.Remove()
		p = nil
	}
	if p == nil {
		if fi, err := l.Parent.Lstat(l.Name); err == nil && fi.IsDir() {
			return nil, &IsDirError{Path: l.Rel}
		}
		p = &Part{loc: l, name: partStem(l.Name) + strconv.FormatInt(total, 10), Total: total}
	}
	return p, nil
}

// Write writes n bytes of r at offset off, which must not be past
// Received (no gaps). Bytes already received may be written again. It
// returns the bytes written; those stay even when r ends early, so that
// the client can resume from Received.
func (p *Part) Write(r io.Reader, off, n int64) (int64, error) {
	if off > p.Received || off+n > p.Total {
		return 0, fmt.Errorf("part %d+%d of %q does not fit (received %d of %d)", off, n, p.loc.Rel, p.Received, p.Total)
	}
	f, err := p.loc.Parent.OpenFile(p.name, os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return 0, MapError(p.loc.Rel, err)
	}
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		_ = f.Close()
		return 0, MapError(p.loc.Rel, err)
	}
	w, err := io.Copy(f, io.LimitReader(r, n))
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	p.Received = max(p.Received, off+w)
	p.Modified = time.Now()
	if err == nil && w < n {
		err = io.ErrUnexpectedEOF
	}
	return w, err
}

// Complete reports whether all Total bytes are in.
func (p *Part) Complete() bool { return p.Received == p.Total }

// Open opens the part for reading (a complete archive to extract).
func (p *Part) Open() (*os.File, error) {
	f, err := p.loc.Parent.Open(p.name)
	if err != nil {
		return nil, MapError(p.loc.Rel, err)
	}
	return f, nil
}

// Pending turns a complete part into a PendingFile, renamed over the target
// by Apply.
func (p *Part) Pending() *PendingFile {
	return &PendingFile{loc: p.loc, tmpName: p.name, Size: p.Received}
}

// Remove deletes the part.
func (p *Part) Remove() {
	_ = p.loc.Parent.Remove(p.name)
}

// RemovePart deletes the unfinished upload of the target, if any.
func (l *Loc) RemovePart() error {
	p, err := l.FindPart()
	if err != nil || p == nil {
		return err
	}
	if err := l.Parent.Remove(p.name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return MapError(l.Rel, err)
	}
	return nil
}
