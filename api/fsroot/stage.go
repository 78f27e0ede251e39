package fsroot

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
)

// Staged is new content built next to its target under a reserved name,
// waiting to replace the target: a *Stage (a folder) or a *PendingFile (a
// file). Nothing of the target changes before Apply.
type Staged interface {
	// Apply puts the content in place. The caller holds the tree's
	// CommitGate. On error the target is left as it was, unless the error
	// says otherwise.
	Apply() (Result, error)
	// Discard removes what is left of the staged content. It is safe after
	// Apply.
	Discard()
}

var (
	_ Staged = (*Stage)(nil)
	_ Staged = (*PendingFile)(nil)
)

// Result summarises an Apply.
type Result struct {
	// Created is true when the target did not exist before.
	Created bool
	// Replaced counts existing entries moved aside (clean), overwritten
	// (merge) or replaced (a file).
	Replaced int
}

// Stage is a folder being built next to its target (in the target's parent,
// under a reserved name) and then applied in one step, so that a failed or
// refused upload never touches the target.
//
// Apply applies it:
//   - target missing: the staging folder is renamed into place (atomic);
//   - clean: the target's entries are moved into a backup folder, the staged
//     entries are moved in;
//   - merge: each staged file replaces its counterpart, the replaced one being
//     moved into the backup folder first.
//
// Every step is a rename inside one directory tree, recorded in a journal.
// When a step fails, the journal is replayed backwards and the target is
// exactly as it was. The target folder itself is never replaced, so its
// ACLs and the handles IIS holds on it stay valid. Only a crash of the
// process in the middle of Apply (a window of a few renames) can leave a
// partly applied folder; the backup then stays in the reserved folder
// until the next upload to the same parent.
type Stage struct {
	// Root is the staging folder; extract into it.
	Root *os.Root

	loc     *Loc
	clean   bool
	newName string
	oldName string
	// rename is Parent.Rename with retries for transient sharing violations;
	// tests replace it to inject failures.
	rename  func(oldname, newname string) error
	done    bool
	keepOld bool
}

// NewStage creates an empty staging folder for the target directory of l.
// With clean, Apply replaces the target's content; without, it merges the
// staged entries into it.
func (l *Loc) NewStage(clean bool) (*Stage, error) {
	s := &Stage{loc: l, clean: clean, newName: StagingName("-new"), oldName: StagingName("-old")}
	s.rename = func(o, n string) error { return retryTransient(func() error { return l.Parent.Rename(o, n) }) }
	if err := l.Parent.Mkdir(s.newName, 0o755); err != nil {
		return nil, MapError(l.Rel, err)
	}
	if l.Top {
		// A new top-level folder would inherit the task directory's ACL, not
		// the one the driver set on the target (Windows only; a no-op elsewhere).
		if err := copyDirSecurity(l.tree.dir, l.Name, s.newName); err != nil {
			_ = l.Parent.RemoveAll(s.newName)
			return nil, fmt.Errorf("copy the access rules of %q to the staging folder: %w", l.Rel, err)
		}
	}
	r, err := l.Parent.OpenRoot(s.newName)
	if err != nil {
		_ = l.Parent.RemoveAll(s.newName)
		return nil, MapError(l.Rel, err)
	}
	s.Root = r
	return s, nil
}

// Discard removes the staging and backup folders. It is safe after Apply.
func (s *Stage) Discard() {
	if s.Root != nil {
		_ = s.Root.Close()
		s.Root = nil
	}
	_ = s.loc.Parent.RemoveAll(s.newName)
	if !s.keepOld {
		_ = s.loc.Parent.RemoveAll(s.oldName)
	}
}

type move struct{ from, to string }

// Apply applies the staged folder to the target. The caller holds the
// tree's CommitGate. On error the target is left as it was (see Stage),
// unless the error says the rollback failed.
func (s *Stage) Apply() (Result, error) {
	if s.done {
		return Result{}, errors.New("stage already applied")
	}
	s.done = true
	_ = s.Root.Close()
	s.Root = nil
	p, name := s.loc.Parent, s.loc.Name
	fi, err := p.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := s.rename(s.newName, name); err != nil {
			return Result{}, MapError(s.loc.Rel, err)
		}
		return Result{Created: true}, nil
	case err != nil:
		return Result{}, MapError(s.loc.Rel, err)
	case !fi.IsDir():
		return Result{}, &PathError{Path: s.loc.Rel, Reason: "is a file (or a link), not a folder; an archive is extracted into a folder"}
	}
	if err := p.Mkdir(s.oldName, 0o755); err != nil {
		return Result{}, MapError(s.loc.Rel, err)
	}
	var journal []move
	do := func(from, to string) error {
		if err := s.rename(from, to); err != nil {
			return err
		}
		journal = append(journal, move{from, to})
		return nil
	}
	var res Result
	if s.clean {
		err = s.applyClean(do, &res)
	} else {
		err = s.applyMerge(do, &res)
	}
	if err != nil {
		if rbErr := s.rollback(journal); rbErr != nil {
			s.keepOld = true
			return Result{}, fmt.Errorf("apply upload to %q: %w; the rollback failed too (%v): the previous content is kept in %s", s.loc.Rel, MapError(s.loc.Rel, err), rbErr, s.oldName)
		}
		return Result{}, fmt.Errorf("apply upload to %q (nothing was changed): %w", s.loc.Rel, MapError(s.loc.Rel, err))
	}
	return res, nil
}

func (s *Stage) rollback(journal []move) error {
	var errs []error
	for i := len(journal) - 1; i >= 0; i-- {
		m := journal[i]
		if err := retryTransient(func() error { return s.loc.Parent.Rename(m.to, m.from) }); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// applyClean moves every entry of the target into the backup folder, then
// every staged entry into the target.
func (s *Stage) applyClean(do func(from, to string) error, res *Result) error {
	name := s.loc.Name
	old, err := readNames(s.loc.Parent, name)
	if err != nil {
		return err
	}
	for _, e := range old {
		if IsReserved(e) {
			continue
		}
		if err := do(name+"/"+e, s.oldName+"/"+e); err != nil {
			return err
		}
		res.Replaced++
	}
	staged, err := readNames(s.loc.Parent, s.newName)
	if err != nil {
		return err
	}
	for _, e := range staged {
		if err := do(s.newName+"/"+e, name+"/"+e); err != nil {
			return err
		}
	}
	return nil
}

// applyMerge walks the staged tree: a staged folder whose counterpart is a
// folder is descended into; anything else replaces its counterpart (moved to
// the backup folder first) in one rename.
func (s *Stage) applyMerge(do func(from, to string) error, res *Result) error {
	var walk func(rel string) error
	walk = func(rel string) error {
		names, err := readNames(s.loc.Parent, path.Join(s.newName, rel))
		if err != nil {
			return err
		}
		for _, e := range names {
			r := path.Join(rel, e)
			src, dst := path.Join(s.newName, r), path.Join(s.loc.Name, r)
			sfi, err := s.loc.Parent.Lstat(src)
			if err != nil {
				return err
			}
			dfi, err := s.loc.Parent.Lstat(dst)
			switch {
			case errors.Is(err, fs.ErrNotExist):
			case err != nil:
				return err
			case sfi.IsDir() && dfi.IsDir():
				if err := walk(r); err != nil {
					return err
				}
				continue
			default:
				if err := s.loc.Parent.MkdirAll(path.Join(s.oldName, rel), 0o755); err != nil {
					return err
				}
				if err := do(dst, path.Join(s.oldName, r)); err != nil {
					return err
				}
				res.Replaced++
			}
			if err := do(src, dst); err != nil {
				return err
			}
		}
		return nil
	}
	return walk("")
}

// readNames lists a directory of r, sorted.
func readNames(r *os.Root, dir string) ([]string, error) {
	d, err := r.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// PendingFile is a file written next to its target under a reserved name,
// waiting to replace the target in one rename.
type PendingFile struct {
	loc     *Loc
	tmpName string
	// Size is the number of bytes written.
	Size int64
}

// SpoolFile copies r into a new file next to the target. The target is not
// touched until Apply. A target that is a folder is refused first.
func (l *Loc) SpoolFile(r io.Reader) (*PendingFile, error) {
	if fi, err := l.Parent.Lstat(l.Name); err == nil && fi.IsDir() {
		return nil, &IsDirError{Path: l.Rel}
	}
	p := &PendingFile{loc: l, tmpName: StagingName(".tmp")}
	f, err := l.Parent.OpenFile(p.tmpName, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, MapError(l.Rel, err)
	}
	n, err := io.Copy(f, r)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = l.Parent.Remove(p.tmpName)
		return nil, err
	}
	p.Size = n
	return p, nil
}

// Apply renames the spooled file over the target. The caller holds the
// tree's CommitGate.
func (p *PendingFile) Apply() (Result, error) {
	fi, err := p.loc.Parent.Lstat(p.loc.Name)
	if err == nil && fi.IsDir() {
		return Result{}, &IsDirError{Path: p.loc.Rel}
	}
	res := Result{Created: true}
	if err == nil {
		res = Result{Replaced: 1}
	}
	if err := retryTransient(func() error { return p.loc.Parent.Rename(p.tmpName, p.loc.Name) }); err != nil {
		return Result{}, MapError(p.loc.Rel, err)
	}
	p.tmpName = ""
	return res, nil
}

// Discard removes the spooled file if it was not applied.
func (p *PendingFile) Discard() {
	if p.tmpName != "" {
		_ = p.loc.Parent.Remove(p.tmpName)
	}
}

// IsDirError reports a single-file upload aimed at a folder.
type IsDirError struct{ Path string }

// Error implements error.
func (e *IsDirError) Error() string {
	return fmt.Sprintf("%q is a folder; send Content-Type: application/zip to extract an archive into it, or name a file", e.Path)
}

// Trash is what TrashTarget or TrashContent moved out of view, under a
// reserved name next to the target. Empty deletes it. Until then, or when
// Empty fails, it stays hidden, and the next upload to the same folder
// removes it (see CleanStale).
type Trash struct {
	parent *os.Root
	// name is the reserved name in parent; "" when nothing is left to delete.
	name string
	rel  string
	// Entries counts the entries moved out of an emptied folder.
	Entries int
}

// Empty deletes what the trash holds. The target is already gone, so an
// error only means that disk space is not reclaimed yet.
func (t *Trash) Empty() error {
	if t == nil || t.name == "" {
		return nil
	}
	if err := t.parent.RemoveAll(t.name); err != nil {
		return fmt.Errorf("delete what was moved out of %q: %w", t.rel, MapError(t.rel, err))
	}
	t.name = ""
	return nil
}

// UnchangedError reports a delete that failed before anything changed, or
// whose changes were all undone: the target is exactly as it was. Entry is
// the path (relative to the task directory) that could not be moved.
type UnchangedError struct {
	Path  string
	Entry string
	Err   error
}

// Error implements error.
func (e *UnchangedError) Error() string {
	cause := e.Err
	var pe *fs.PathError
	if errors.As(cause, &pe) {
		cause = pe.Err
	}
	if e.Entry == e.Path {
		return fmt.Sprintf("could not delete %q (%v); nothing was changed", e.Path, cause)
	}
	return fmt.Sprintf("could not empty %q: %q could not be moved aside (%v); nothing was changed", e.Path, e.Entry, cause)
}

// Unwrap returns the cause.
func (e *UnchangedError) Unwrap() error { return e.Err }

// moveAside renames oldname to newname in Parent, retrying transient
// sharing violations; tests replace it through l.rename to inject failures.
func (l *Loc) moveAside(oldname, newname string) error {
	if l.rename != nil {
		return l.rename(oldname, newname)
	}
	return retryTransient(func() error { return l.Parent.Rename(oldname, newname) })
}

// TrashTarget takes the target out of view: a file or link with one unlink
// (nothing to empty afterwards), a folder with one rename into the trash.
// The caller holds the tree's CommitGate. On error the target is as it was.
func (l *Loc) TrashTarget() (*Trash, error) {
	fi, err := l.Lstat()
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		if err := l.Parent.Remove(l.Name); err != nil {
			return nil, &UnchangedError{Path: l.Rel, Entry: l.Rel, Err: MapError(l.Rel, err)}
		}
		return &Trash{}, nil
	}
	aside := StagingName("-del")
	if err := l.moveAside(l.Name, aside); err != nil {
		return nil, &UnchangedError{Path: l.Rel, Entry: l.Rel, Err: MapError(l.Rel, err)}
	}
	return &Trash{parent: l.Parent, name: aside, rel: l.Rel}, nil
}

// TrashContent empties the target folder, which is kept: every entry is
// renamed into a trash folder next to it. If one cannot be, the entries
// moved before it are moved back and the error is an *UnchangedError naming
// it. The caller holds the tree's CommitGate.
func (l *Loc) TrashContent() (*Trash, error) {
	fi, err := l.Lstat()
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, &PathError{Path: l.Rel, Reason: "is a file; \"/*\" empties a folder"}
	}
	names, err := readNames(l.Parent, l.Name)
	if err != nil {
		return nil, MapError(l.Rel, err)
	}
	trash := &Trash{parent: l.Parent, name: StagingName("-del"), rel: l.Rel}
	if err := l.Parent.Mkdir(trash.name, 0o755); err != nil {
		return nil, MapError(l.Rel, err)
	}
	var moved []string
	for _, e := range names {
		if IsReserved(e) {
			continue
		}
		if err := l.moveAside(l.Name+"/"+e, trash.name+"/"+e); err != nil {
			entry := l.Rel + "/" + e
			var rbErrs []error
			for i := len(moved) - 1; i >= 0; i-- {
				m := moved[i]
				if err := retryTransient(func() error { return l.Parent.Rename(trash.name+"/"+m, l.Name+"/"+m) }); err != nil {
					rbErrs = append(rbErrs, MapError(l.Rel+"/"+m, err))
				}
			}
			if rbErr := errors.Join(rbErrs...); rbErr != nil {
				return nil, fmt.Errorf("empty %q: %q could not be moved aside: %w; moving back the %d entries moved before it failed too (%v): they are kept in %s",
					l.Rel, entry, MapError(entry, err), len(moved), rbErr, trash.name)
			}
			_ = l.Parent.Remove(trash.name)
			return nil, &UnchangedError{Path: l.Rel, Entry: entry, Err: MapError(entry, err)}
		}
		moved = append(moved, e)
	}
	trash.Entries = len(moved)
	return trash, nil
}

// Remove deletes the target at once (TrashTarget, then Empty).
func (l *Loc) Remove() error {
	trash, err := l.TrashTarget()
	if err != nil {
		return err
	}
	if err := trash.Empty(); err != nil {
		return fmt.Errorf("%q was removed from view but not all of its files could be deleted: %w", l.Rel, err)
	}
	return nil
}

// Clear empties the target folder and keeps the folder itself
// (TrashContent, then Empty). It returns the number of entries removed.
func (l *Loc) Clear() (int, error) {
	trash, err := l.TrashContent()
	if err != nil {
		return 0, err
	}
	if err := trash.Empty(); err != nil {
		return trash.Entries, fmt.Errorf("%q was emptied but not all of its files could be deleted: %w", l.Rel, err)
	}
	return trash.Entries, nil
}
