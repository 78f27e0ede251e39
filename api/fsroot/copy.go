package fsroot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// ExistsError reports a copy or move whose target exists while the caller
// did not ask to replace it.
type ExistsError struct{ Path string }

// Error implements error.
func (e *ExistsError) Error() string {
	return fmt.Sprintf("%q exists; ask to replace it (\"replace\": true) or choose another name", e.Path)
}

// LimitError reports a copy larger than its limits.
type LimitError struct {
	Path string
	// What is "bytes" or "entries"; Got is at least Limit+1.
	What       string
	Got, Limit int64
}

// Error implements error.
func (e *LimitError) Error() string {
	return fmt.Sprintf("copying %q would write more than %d %s (at least %d)", e.Path, e.Limit, e.What, e.Got)
}

// CopyLimits bound what one copy may write.
type CopyLimits struct {
	// MaxBytes bounds the bytes of the files copied.
	MaxBytes int64
	// MaxEntries bounds the files and folders copied.
	MaxEntries int64
}

// CopyStats describes a copy.
type CopyStats struct {
	Files, Folders int
	Bytes          int64
	// Skipped are the paths (relative to the source) of the entries not
	// copied: links and special files.
	Skipped []string
}

// SameTop reports whether a and b are below the same top-level folder of
// the task directory (neither being a top-level entry itself), so that one
// can be renamed to the other in one step of that folder's os.Root.
func SameTop(a, b *Loc) bool {
	return !a.Top && !b.Top && strings.SplitN(a.Rel, "/", 2)[0] == strings.SplitN(b.Rel, "/", 2)[0]
}

// Measure walks the source l (a file or a folder, links followed as Open
// follows them) and counts what a copy would write, stopping as soon as a
// limit is passed (a *LimitError).
func (l *Loc) Measure(ctx context.Context, lim CopyLimits) (CopyStats, error) {
	var st CopyStats
	err := l.walk(ctx, func(p string, d fs.DirEntry, fi fs.FileInfo) error {
		switch {
		case d.IsDir():
			st.Folders++
		case d.Type().IsRegular():
			st.Files++
			st.Bytes += fi.Size()
		default:
			st.Skipped = append(st.Skipped, p)
			return nil
		}
		return checkLimits(l.Rel, st, lim)
	})
	return st, err
}

func checkLimits(rel string, st CopyStats, lim CopyLimits) error {
	if st.Bytes > lim.MaxBytes {
		return &LimitError{Path: rel, What: "bytes", Got: st.Bytes, Limit: lim.MaxBytes}
	}
	if n := int64(st.Files + st.Folders); n > lim.MaxEntries {
		return &LimitError{Path: rel, What: "entries", Got: n, Limit: lim.MaxEntries}
	}
	return nil
}

// walk calls fn for the source and, for a folder, every entry below it,
// parents first; p is relative to the source ("." for itself). fi is the
// entry's information (links not followed below the source).
func (l *Loc) walk(ctx context.Context, fn func(p string, d fs.DirEntry, fi fs.FileInfo) error) error {
	f, err := l.Open()
	if err != nil {
		return err
	}
	fi, err := f.Stat()
	_ = f.Close()
	if err != nil {
		return MapError(l.Rel, err)
	}
	if !fi.IsDir() {
		return fn(".", fs.FileInfoToDirEntry(fi), fi)
	}
	dir, err := l.OpenDir()
	if err != nil {
		return err
	}
	defer dir.Close()
	return fs.WalkDir(dir.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return MapError(path.Join(l.Rel, p), err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if IsReserved(d.Name()) && p != "." {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return MapError(path.Join(l.Rel, p), err)
		}
		return fn(p, d, info)
	})
}

// Copied is a copy of a source built next to its target under a reserved
// name, waiting to be put in place by Place.
type Copied struct {
	dst     *Loc
	tmpName string
	Stats   CopyStats
}

// StageCopy copies the source src into a new reserved entry next to l (in
// l.Parent), within lim: links and special files below a source folder are
// skipped (and listed), links on the source's own path are followed as Open
// follows them. Nothing of l changes. On error nothing is left behind.
func (l *Loc) StageCopy(ctx context.Context, src *Loc, lim CopyLimits) (*Copied, error) {
	c := &Copied{dst: l, tmpName: StagingName("-copy")}
	var st CopyStats
	var srcDir *os.Root
	defer func() {
		if srcDir != nil {
			_ = srcDir.Close()
		}
	}()
	err := src.walk(ctx, func(p string, d fs.DirEntry, fi fs.FileInfo) error {
		target := c.tmpName
		if p != "." {
			target = path.Join(c.tmpName, p)
		}
		switch {
		case d.IsDir():
			st.Folders++
			if err := checkLimits(src.Rel, st, lim); err != nil {
				return err
			}
			if err := l.Parent.Mkdir(target, fi.Mode().Perm()|0o700); err != nil {
				return MapError(l.Rel, err)
			}
		case d.Type().IsRegular():
			st.Files++
			if err := checkLimits(src.Rel, st, lim); err != nil {
				return err
			}
			if p != "." && srcDir == nil {
				var err error
				if srcDir, err = src.OpenDir(); err != nil {
					return err
				}
			}
			n, err := copyFile(src, srcDir, p, l.Parent, target, fi.Mode().Perm(), lim.MaxBytes-st.Bytes)
			st.Bytes += n
			if err != nil {
				if errors.Is(err, errTooLarge) {
					return &LimitError{Path: src.Rel, What: "bytes", Got: lim.MaxBytes + 1, Limit: lim.MaxBytes}
				}
				return err
			}
		default:
			st.Skipped = append(st.Skipped, p)
		}
		return nil
	})
	if err != nil {
		_ = l.Parent.RemoveAll(c.tmpName)
		return nil, err
	}
	c.Stats = st
	return c, nil
}

var errTooLarge = errors.New("the source grew past the copy limit")

// copyFile copies the file p of the source folder srcDir (the source file
// itself for ".") into name of dst, at most budget bytes (errTooLarge
// beyond).
func copyFile(src *Loc, srcDir *os.Root, p string, dst *os.Root, name string, perm fs.FileMode, budget int64) (int64, error) {
	var in *os.File
	var err error
	if p == "." {
		in, err = src.Open()
	} else {
		in, err = openRead(srcDir, p, path.Join(src.Rel, p))
	}
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := dst.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm|0o600)
	if err != nil {
		return 0, MapError(src.Rel, err)
	}
	n, err := io.Copy(out, io.LimitReader(in, budget+1))
	if err == nil && n > budget {
		err = errTooLarge
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// Place renames the copy onto its target. The caller holds the tree's
// CommitGate, and then commits or reverts the Placement.
func (c *Copied) Place(replace bool) (*Placement, error) {
	p, err := c.dst.PlaceEntry(func() error { return c.dst.Parent.Rename(c.tmpName, c.dst.Name) }, replace)
	if err == nil {
		c.tmpName = ""
	}
	return p, err
}

// Discard removes the copy if it was not placed.
func (c *Copied) Discard() {
	if c.tmpName != "" {
		_ = c.dst.Parent.RemoveAll(c.tmpName)
	}
}

// MoveTo renames the source l onto dst in one rename of their common
// top-level folder (SameTop must hold) and commits it. A final link is moved
// itself, never followed. The caller holds the tree's CommitGate.
func (l *Loc) MoveTo(dst *Loc, replace bool) (Result, error) {
	if !SameTop(l, dst) {
		return Result{}, fmt.Errorf("move %q to %q: not below the same top-level folder", l.Rel, dst.Rel)
	}
	if _, err := l.Lstat(); err != nil {
		return Result{}, err
	}
	p, err := dst.PlaceEntry(func() error { return l.topRoot.Rename(l.inTop, dst.inTop) }, replace)
	if err != nil {
		return Result{}, err
	}
	p.Commit()
	return p.Result, nil
}

// Placement is a new entry put at its target by PlaceEntry, with the
// entry it replaced (if any) still kept aside: Commit deletes that one,
// Revert restores it.
type Placement struct {
	Result
	loc   *Loc
	aside string
}

// PlaceEntry runs rename, which puts a new entry at l. An existing target
// is an *ExistsError without replace; with replace it is renamed aside
// first, and renamed back if rename fails.
func (l *Loc) PlaceEntry(rename func() error, replace bool) (*Placement, error) {
	_, err := l.Parent.Lstat(l.Name)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, MapError(l.Rel, err)
	}
	if exists && !replace {
		return nil, &ExistsError{Path: l.Rel}
	}
	p := &Placement{loc: l, Result: Result{Created: !exists}}
	if exists {
		p.aside, p.Replaced = StagingName("-old"), 1
		if err := retryTransient(func() error { return l.Parent.Rename(l.Name, p.aside) }); err != nil {
			return nil, fmt.Errorf("move the existing %q aside (nothing was changed): %w", l.Rel, MapError(l.Rel, err))
		}
	}
	if err := retryTransient(rename); err != nil {
		if p.aside != "" {
			if rerr := l.Parent.Rename(p.aside, l.Name); rerr != nil {
				return nil, fmt.Errorf("put %q in place: %w; restoring the replaced entry failed too (it is kept as %s): %v", l.Rel, MapError(l.Rel, err), p.aside, rerr)
			}
		}
		return nil, fmt.Errorf("put %q in place (nothing was changed): %w", l.Rel, MapError(l.Rel, err))
	}
	return p, nil
}

// Commit deletes the replaced entry. A failure leaves a reserved entry that
// the next upload to this folder removes.
func (p *Placement) Commit() {
	if p.aside != "" {
		_ = p.loc.Parent.RemoveAll(p.aside)
		p.aside = ""
	}
}

// Revert removes the new entry and restores the one it replaced.
func (p *Placement) Revert() error {
	if err := p.loc.Parent.RemoveAll(p.loc.Name); err != nil {
		return fmt.Errorf("remove the new %q: %w", p.loc.Rel, MapError(p.loc.Rel, err))
	}
	if p.aside != "" {
		if err := p.loc.Parent.Rename(p.aside, p.loc.Name); err != nil {
			return fmt.Errorf("restore the replaced %q (kept as %s): %w", p.loc.Rel, p.aside, MapError(p.loc.Rel, err))
		}
		p.aside = ""
	}
	return nil
}
