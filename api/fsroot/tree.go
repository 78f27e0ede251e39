package fsroot

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
	"time"
)

// Tree is a task directory opened for the API. All I/O goes through its
// os.Root; it is safe for concurrent use.
type Tree struct {
	dir  string
	root *os.Root
}

// Open opens the task directory dir.
func Open(dir string) (*Tree, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open task directory: %w", err)
	}
	return &Tree{dir: dir, root: root}, nil
}

// Close releases the directory handle.
func (t *Tree) Close() error { return t.root.Close() }

// Dir is the task directory's OS path (for the process's own use; never sent
// to a client).
func (t *Tree) Dir() string { return t.dir }

// Root is the os.Root of the task directory. Use it only for top-level names
// and the API's own staging files.
func (t *Tree) Root() *os.Root { return t.root }

// Loc is a located path: the directory that holds it, opened as an os.Root,
// and its final name.
//
// Links follow one rule, at every component of the path: a link is followed
// while it resolves inside the path's top-level folder (local, tmp ...) and
// refused when it leads anywhere else; a top-level entry that is a link is
// refused. Parent is reached through the top-level folder's os.Root, and
// reads (Open, OpenDir) resolve the final name through it too, so a final
// link obeys the same rule as a link in the middle. Changes (Lstat, staging,
// Remove) act on the name Name in Parent itself: a final link is replaced or
// deleted, never written through.
type Loc struct {
	// Parent is the directory holding the target. For a top-level name it is
	// the task directory itself.
	Parent *os.Root
	// Name is the target's final name.
	Name string
	// Rel is the cleaned path relative to the task directory, for messages.
	Rel string
	// Top is true when the target is a top-level entry of the task directory.
	Top bool

	// topRoot is the path's top-level folder and inTop the path inside it;
	// nil for a top-level target.
	topRoot *os.Root
	inTop   string

	tree    *Tree
	closers []*os.Root
	// created are the folders Locate created, outermost first.
	created []createdDir
	// rename, when set, replaces Parent.Rename in TrashTarget and
	// TrashContent; tests set it to inject failures.
	rename func(oldname, newname string) error
}

// createdDir is a folder Locate created, named relative to root.
type createdDir struct {
	root *os.Root
	name string
}

// Close releases the directory handles the Loc opened.
func (l *Loc) Close() {
	for i := len(l.closers) - 1; i >= 0; i-- {
		_ = l.closers[i].Close()
	}
	l.closers = nil
}

// Locate opens the parent directory of rel, a path returned by Clean. With
// create, missing parent directories are created. A top-level entry that is
// a link is refused: the task directory's own layout is never redirected.
func (t *Tree) Locate(rel string, create bool) (*Loc, error) {
	segs := strings.Split(rel, "/")
	loc := &Loc{Name: segs[len(segs)-1], Rel: rel, tree: t}
	top := segs[0]
	fi, err := t.root.Lstat(top)
	switch {
	case err == nil && fi.Mode()&fs.ModeSymlink != 0:
		return nil, &PathError{Path: rel, Forbidden: true, Reason: "goes through a link at the top of the task directory; links are not followed"}
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, MapError(rel, err)
	}
	if len(segs) == 1 {
		loc.Parent, loc.Top = t.root, true
		return loc, nil
	}
	if err != nil { // top-level directory missing
		if !create {
			return nil, MapError(rel, err)
		}
		if err := t.root.Mkdir(top, 0o755); err == nil {
			loc.created = append(loc.created, createdDir{t.root, top})
		} else if !errors.Is(err, fs.ErrExist) {
			return nil, MapError(rel, err)
		}
	} else if !fi.IsDir() {
		return nil, &PathError{Path: rel, Reason: fmt.Sprintf("goes through %q, which is a file", top)}
	}
	topRoot, err := t.root.OpenRoot(top)
	if err != nil {
		return nil, MapError(rel, err)
	}
	loc.closers = append(loc.closers, topRoot)
	loc.topRoot, loc.inTop = topRoot, path.Join(segs[1:]...)
	parentRel := path.Join(segs[1 : len(segs)-1]...)
	if parentRel == "" {
		loc.Parent = topRoot
		return loc, nil
	}
	if create {
		for i := 2; i < len(segs); i++ {
			dir := path.Join(segs[1:i]...)
			err := topRoot.Mkdir(dir, 0o755)
			switch {
			case err == nil:
				loc.created = append(loc.created, createdDir{topRoot, dir})
			case !errors.Is(err, fs.ErrExist):
				loc.Close()
				return nil, MapError(rel, err)
			}
		}
	}
	parent, err := topRoot.OpenRoot(parentRel)
	if err != nil {
		loc.Close()
		return nil, MapError(rel, err)
	}
	loc.closers = append(loc.closers, parent)
	loc.Parent = parent
	return loc, nil
}

// RemoveCreated removes the folders Locate created, if they are still
// empty: a failed upload leaves no trace.
func (l *Loc) RemoveCreated() {
	for i := len(l.created) - 1; i >= 0; i-- {
		_ = l.created[i].root.Remove(l.created[i].name)
	}
	l.created = nil
}

// Lstat describes the target without following a final link.
func (l *Loc) Lstat() (fs.FileInfo, error) {
	fi, err := l.Parent.Lstat(l.Name)
	if err != nil {
		return nil, MapError(l.Rel, err)
	}
	return fi, nil
}

// resolved is where a read resolves the target: the top-level folder and
// the path inside it, so that links anywhere on the path (the final name
// included) are followed only while they stay in that folder.
func (l *Loc) resolved() (*os.Root, string) {
	if l.topRoot == nil {
		return l.Parent, l.Name
	}
	return l.topRoot, l.inTop
}

// OpenDir opens the target directory as a Root confined to it. Links are
// followed as the Loc's rule says. The caller closes it.
func (l *Loc) OpenDir() (*os.Root, error) {
	in, name := l.resolved()
	r, err := in.OpenRoot(name)
	if err != nil {
		return nil, MapError(l.Rel, err)
	}
	return r, nil
}

// Open opens the target file or folder for reading. Links, a final one
// included, are followed only while they stay inside the path's top-level
// folder. Anything else than a regular file or a folder (a named pipe, a
// socket, a device) is refused with a *SpecialFileError without being
// opened: opening a pipe would wait for a writer.
func (l *Loc) Open() (*os.File, error) {
	in, name := l.resolved()
	return openRead(in, name, l.Rel)
}

// CleanStale removes staging entries left in Parent by an upload that was
// interrupted by a crash, and unfinished range uploads whose last part is
// older than PartRetention. Call it only while holding the task's upload lock.
func (l *Loc) CleanStale() {
	removeStale(l.Parent)
	if !l.Top {
		removeStale(l.tree.root)
	}
}

func removeStale(r *os.Root) {
	d, err := r.Open(".")
	if err != nil {
		return
	}
	names, _ := d.Readdirnames(-1)
	_ = d.Close()
	for _, n := range names {
		if !IsReserved(n) {
			continue
		}
		if isPart(n) {
			// An unfinished range upload is kept PartRetention after its
			// last part, so that the client can resume it.
			if fi, err := r.Lstat(n); err == nil && time.Since(fi.ModTime()) < PartRetention {
				continue
			}
		}
		_ = r.RemoveAll(n)
	}
}

// StagingName returns a fresh reserved name with the given suffix.
func StagingName(suffix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return StagingPrefix + "-" + hex.EncodeToString(b[:]) + suffix
}

// MapError turns an error from an os.Root operation into one that names the
// client's path only: a *PathError for escapes and links, or the error with
// its OS path replaced.
func MapError(rel string, err error) error {
	var pe *PathError
	if errors.As(err, &pe) {
		return err
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "path escapes from parent"),
		errors.Is(err, syscall.ELOOP):
		return &PathError{Path: rel, Forbidden: true, Reason: "goes through a link that leads outside its top-level folder; such links are not followed"}
	case errors.Is(err, fs.ErrNotExist):
		return &NotExistError{Path: rel}
	case isNotDir(err):
		return &PathError{Path: rel, Reason: "goes through a file where a folder was expected"}
	}
	var opErr *fs.PathError
	if errors.As(err, &opErr) {
		return &fs.PathError{Op: opErr.Op, Path: rel, Err: opErr.Err}
	}
	var linkErr *os.LinkError
	if errors.As(err, &linkErr) {
		return &fs.PathError{Op: linkErr.Op, Path: rel, Err: linkErr.Err}
	}
	return err
}

// NotExistError reports a path that does not exist. It matches fs.ErrNotExist.
type NotExistError struct{ Path string }

// Error implements error.
func (e *NotExistError) Error() string { return fmt.Sprintf("no file or folder at %q", e.Path) }

// Is matches fs.ErrNotExist.
func (e *NotExistError) Is(target error) bool { return target == fs.ErrNotExist }

func isNotDir(err error) bool {
	return errors.Is(err, syscall.ENOTDIR)
}
