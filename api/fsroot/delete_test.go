package fsroot

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/shoenig/test/must"
)

// TestLoc_TrashIsAllOrNothing injects a failure on the N-th rename of a
// delete: the folder (or its content) is then exactly as it was, and the
// error names the entry that could not be moved.
func TestLoc_TrashIsAllOrNothing(t *testing.T) {
	t.Parallel()
	files := map[string]string{"a.txt": "a", "b/c.txt": "c", "d/e/f.txt": "f", "g.txt": "g", "h/i.txt": "i"}
	cases := []struct {
		name   string
		clear  bool
		failAt int
		entry  string
	}{
		{name: "empty, first entry", clear: true, failAt: 1, entry: "local/site/a.txt"},
		{name: "empty, middle entry", clear: true, failAt: 3, entry: "local/site/d"},
		{name: "empty, last entry", clear: true, failAt: 5, entry: "local/site/h"},
		{name: "delete the folder", failAt: 1, entry: "local/site"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			task := t.TempDir()
			write(t, filepath.Join(task, "local", "site"), files)
			before := tree(t, task)
			tr, err := Open(task)
			must.NoError(t, err)
			defer tr.Close()
			loc, err := tr.Locate("local/site", false)
			must.NoError(t, err)
			defer loc.Close()
			n := 0
			loc.rename = func(o, nn string) error {
				n++
				if n == tc.failAt {
					return fmt.Errorf("rename %s: %w", o, errors.New("injected failure"))
				}
				return loc.Parent.Rename(o, nn)
			}
			if tc.clear {
				_, err = loc.TrashContent()
			} else {
				_, err = loc.TrashTarget()
			}
			var ue *UnchangedError
			must.True(t, errors.As(err, &ue), must.Sprintf("error: %v", err))
			must.Eq(t, tc.entry, ue.Entry)
			must.ErrorContains(t, err, "nothing was changed")
			must.StrNotContains(t, err.Error(), task, must.Sprint("errors never carry host paths"))
			must.Eq(t, before, tree(t, task), must.Sprint("every entry is still there, no trash is left"))
		})
	}
}
