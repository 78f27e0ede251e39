package fsroot

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"syscall"
)

// MaxSnapshotFiles bounds the files a Snapshot holds open. A folder with
// more is streamed from the live tree under the read gate instead, as
// before snapshots, so an upload or delete waits for it at most CommitWait.
const MaxSnapshotFiles = 10_000

// ErrSnapshotTooLarge reports a folder with more than MaxSnapshotFiles files
// (or more than the process may open): it cannot be snapshotted.
var ErrSnapshotTooLarge = errors.New("the folder has too many files to hold open")

// Snapshot is a folder's content at one moment: its tree of folders, and
// every regular file in it opened. Take it under the tree's ReadGate, then
// release the gate: an upload or delete that renames, replaces or deletes
// entries afterwards does not change what the snapshot reads, since an open
// file keeps its content. (On Windows os.Root opens files with
// FILE_SHARE_DELETE, so the open files do not hold off those renames and
// deletes either.) A file changed in place by another process is read as
// it is then; the API itself never writes in place.
//
// The walk applies the rules of a folder download: the API's staging
// entries and links are left out; what is neither a folder nor a regular
// file, or cannot be read, is left out and listed in Skipped.
type Snapshot struct {
	// Skipped lists the entries that could not be read or are not regular
	// files, relative to the folder.
	Skipped []string

	dirs  map[string][]fs.DirEntry
	infos map[string]fs.FileInfo
	files map[string]*os.File
}

// TakeSnapshot walks the folder r and opens its files. It fails with
// ErrSnapshotTooLarge when the folder holds more than maxFiles files; it
// then holds nothing open.
func TakeSnapshot(r *os.Root, maxFiles int) (_ *Snapshot, err error) {
	s := &Snapshot{dirs: map[string][]fs.DirEntry{}, infos: map[string]fs.FileInfo{}, files: map[string]*os.File{}}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	rfs := ReadFS(r)
	skip := func(p string) { s.Skipped = append(s.Skipped, p) }
	dir := func(p string, info fs.FileInfo) error {
		s.add(p, info)
		s.dirs[p] = []fs.DirEntry{}
		return nil
	}
	file := func(p string) error {
		if len(s.files) >= maxFiles {
			return ErrSnapshotTooLarge
		}
		f, err := rfs.Open(p)
		if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
			return ErrSnapshotTooLarge
		}
		if err != nil {
			skip(p)
			return nil
		}
		of := f.(*os.File)
		info, err := of.Stat()
		if err != nil || !info.Mode().IsRegular() {
			_ = of.Close()
			skip(p)
			return nil
		}
		s.files[p] = of
		s.add(p, info)
		return nil
	}
	err = WalkDownload(rfs, skip, dir, file)
	if err != nil {
		return nil, fmt.Errorf("snapshot the folder: %w", err)
	}
	return s, nil
}

// add records p with its information, as an entry of its folder.
func (s *Snapshot) add(p string, info fs.FileInfo) {
	s.infos[p] = info
	if p != "." {
		dir := path.Dir(p)
		s.dirs[dir] = append(s.dirs[dir], fs.FileInfoToDirEntry(info))
	}
}

// Files counts the files the snapshot holds open.
func (s *Snapshot) Files() int { return len(s.files) }

// Close closes the files the snapshot holds. It is safe to call twice.
func (s *Snapshot) Close() {
	for p, f := range s.files {
		_ = f.Close()
		delete(s.files, p)
	}
}

// FS is the snapshot as an fs.FS for a walk that reads it (a folder
// download). A file is read from offset 0 up to the size it had when the
// snapshot was taken; each Open reads it anew.
func (s *Snapshot) FS() fs.FS { return snapshotFS{s} }

type snapshotFS struct{ s *Snapshot }

var (
	_ fs.ReadDirFS = snapshotFS{}
	_ fs.StatFS    = snapshotFS{}
)

// Open implements fs.FS.
func (f snapshotFS) Open(name string) (fs.File, error) {
	info, err := f.Stat(name)
	if err != nil {
		return nil, err
	}
	if file, ok := f.s.files[name]; ok {
		return &snapshotFile{info: info, r: io.NewSectionReader(file, 0, info.Size())}, nil
	}
	return &snapshotDir{info: info, entries: f.s.dirs[name]}, nil
}

// Stat implements fs.StatFS.
func (f snapshotFS) Stat(name string) (fs.FileInfo, error) {
	info, ok := f.s.infos[name]
	if !ok || !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return info, nil
}

// ReadDir implements fs.ReadDirFS: the entries sorted by name.
func (f snapshotFS) ReadDir(name string) ([]fs.DirEntry, error) {
	entries, ok := f.s.dirs[name]
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	out := slices.Clone(entries)
	slices.SortFunc(out, func(a, b fs.DirEntry) int {
		switch {
		case a.Name() < b.Name():
			return -1
		case a.Name() > b.Name():
			return 1
		}
		return 0
	})
	return out, nil
}

// snapshotFile reads one held file; closing it leaves the file open for
// the snapshot.
type snapshotFile struct {
	info fs.FileInfo
	r    *io.SectionReader
}

func (f *snapshotFile) Stat() (fs.FileInfo, error) { return f.info, nil }
func (f *snapshotFile) Read(b []byte) (int, error) { return f.r.Read(b) }
func (f *snapshotFile) Close() error               { return nil }

// snapshotDir is a folder of the snapshot.
type snapshotDir struct {
	info    fs.FileInfo
	entries []fs.DirEntry
	// next is the index of the next entry ReadDir returns.
	next int
}

func (d *snapshotDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *snapshotDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.Name(), Err: syscall.EISDIR}
}
func (d *snapshotDir) Close() error { return nil }

// ReadDir implements fs.ReadDirFile.
func (d *snapshotDir) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.next:]
	if n > 0 && len(rest) == 0 {
		return nil, io.EOF
	}
	if n > 0 && n < len(rest) {
		rest = rest[:n]
	}
	d.next += len(rest)
	return slices.Clone(rest), nil
}
