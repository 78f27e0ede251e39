package fsroot

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/shoenig/test/must"
)

// TestPlaceEntry_RollsBack: when the rename that puts the new entry in
// place fails, the replaced entry is back under its name and nothing else
// is left; Revert after a success restores the replaced entry.
func TestPlaceEntry_RollsBack(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	must.NoError(t, os.MkdirAll(filepath.Join(dir, "local", "site"), 0o755))
	must.NoError(t, os.WriteFile(filepath.Join(dir, "local", "site", "old.txt"), []byte("old"), 0o644))
	tr, err := Open(dir)
	must.NoError(t, err)
	defer tr.Close()
	loc, err := tr.Locate("local/site", false)
	must.NoError(t, err)
	defer loc.Close()
	before := tree(t, dir)

	_, err = loc.PlaceEntry(func() error { return errors.New("injected") }, true)
	must.ErrorContains(t, err, "nothing was changed")
	must.Eq(t, before, tree(t, dir))

	_, err = loc.PlaceEntry(func() error { return nil }, false)
	var exists *ExistsError
	must.True(t, errors.As(err, &exists))

	src, err := tr.Locate("local/new", true)
	must.NoError(t, err)
	defer src.Close()
	must.NoError(t, os.WriteFile(filepath.Join(dir, "local", "new"), []byte("new"), 0o644))
	copied, err := loc.StageCopy(context.Background(), src, CopyLimits{MaxBytes: 3, MaxEntries: 1})
	must.NoError(t, err)
	p, err := copied.Place(true)
	must.NoError(t, err)
	must.Eq(t, 1, p.Replaced)
	b, err := os.ReadFile(filepath.Join(dir, "local", "site"))
	must.NoError(t, err)
	must.Eq(t, "new", string(b))
	must.NoError(t, p.Revert())
	must.NoError(t, os.Remove(filepath.Join(dir, "local", "new")))
	must.Eq(t, before, tree(t, dir))
}

// TestStageCopy_Limits: a source over a limit is refused and leaves no
// staging entry.
func TestStageCopy_Limits(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	must.NoError(t, os.MkdirAll(filepath.Join(dir, "local", "a", "b"), 0o755))
	must.NoError(t, os.WriteFile(filepath.Join(dir, "local", "a", "b", "f"), []byte("12345"), 0o644))
	tr, err := Open(dir)
	must.NoError(t, err)
	defer tr.Close()
	src, err := tr.Locate("local/a", false)
	must.NoError(t, err)
	defer src.Close()
	dst, err := tr.Locate("local/c", false)
	must.NoError(t, err)
	defer dst.Close()
	before := tree(t, dir)
	for _, tc := range []struct {
		lim  CopyLimits
		what string
	}{
		{CopyLimits{MaxBytes: 4, MaxEntries: 10}, "bytes"},
		{CopyLimits{MaxBytes: 10, MaxEntries: 2}, "entries"},
	} {
		_, err := dst.StageCopy(context.Background(), src, tc.lim)
		var le *LimitError
		must.True(t, errors.As(err, &le), must.Sprint(err))
		must.Eq(t, tc.what, le.What)
		_, err = src.Measure(context.Background(), tc.lim)
		must.True(t, errors.As(err, &le), must.Sprint(err))
		must.Eq(t, before, tree(t, dir))
	}
}
