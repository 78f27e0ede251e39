package fsroot

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/shoenig/test/must"
)

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		must.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
}

// readAll reads every file of fsys by walking it.
func readAll(t *testing.T, fsys fs.FS) map[string]string {
	t.Helper()
	got := map[string]string{}
	must.NoError(t, fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := fsys.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		got[p] = string(b)
		return err
	}))
	return got
}

// TestSnapshot_KeepsContentThroughRenamesAndDeletes: what an upload or a
// delete does to the folder after the snapshot does not change what it
// reads; staging entries and links are left out.
func TestSnapshot_KeepsContentThroughRenamesAndDeletes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"index.html": "v1", "bin/app.dll": "dll v1", "bin/gone.txt": "gone",
		StagingPrefix + "-x-new/index.html": "staged"})
	must.NoError(t, os.Symlink("index.html", filepath.Join(dir, "link.html")))
	r, err := os.OpenRoot(dir)
	must.NoError(t, err)
	defer r.Close()

	snap, err := TakeSnapshot(r, 10)
	must.NoError(t, err)
	defer snap.Close()
	must.Eq(t, 3, snap.Files())

	// An Apply: the old entries move aside and are deleted, new ones move in.
	must.NoError(t, os.Rename(filepath.Join(dir, "bin"), filepath.Join(dir, "bin-old")))
	must.NoError(t, os.RemoveAll(filepath.Join(dir, "bin-old")))
	must.NoError(t, os.Rename(filepath.Join(dir, "index.html"), filepath.Join(dir, "index.old")))
	writeTree(t, dir, map[string]string{"index.html": "v2 is longer", "bin/new.dll": "new"})
	must.NoError(t, os.Remove(filepath.Join(dir, "index.old")))

	must.Eq(t, map[string]string{"index.html": "v1", "bin/app.dll": "dll v1", "bin/gone.txt": "gone"}, readAll(t, snap.FS()))
	// A snapshot can be read more than once.
	must.Eq(t, "v1", readAll(t, snap.FS())["index.html"])
}

// TestSnapshot_TooManyFiles: a folder over the bound is refused and nothing
// stays open.
func TestSnapshot_TooManyFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"a": "1", "b/c": "2", "b/d": "3"})
	r, err := os.OpenRoot(dir)
	must.NoError(t, err)
	defer r.Close()
	_, err = TakeSnapshot(r, 2)
	must.True(t, errors.Is(err, ErrSnapshotTooLarge), must.Sprint(err))
	snap, err := TakeSnapshot(r, 3)
	must.NoError(t, err)
	snap.Close()
	snap.Close() // twice is safe
}
