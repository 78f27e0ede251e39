package fsroot

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/shoenig/test/must"
)

// tree describes dir as "path=content" lines (folders end in "/").
func tree(t *testing.T, dir string) string {
	t.Helper()
	var lines []string
	must.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case rel == ".":
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			lines = append(lines, rel+"->"+target)
		case d.IsDir():
			lines = append(lines, rel+"/")
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			lines = append(lines, rel+"="+hex.EncodeToString(sum[:4])+":"+string(b))
		}
		return nil
	}))
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func write(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		must.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
}

// stageOf stages files for rel in task, to replace (clean) or merge into its content.
func stageOf(t *testing.T, tr *Tree, rel string, files map[string]string, clean bool) (*Loc, *Stage) {
	t.Helper()
	loc, err := tr.Locate(rel, true)
	must.NoError(t, err)
	t.Cleanup(loc.Close)
	st, err := loc.NewStage(clean)
	must.NoError(t, err)
	t.Cleanup(st.Discard)
	for name, body := range files {
		if dir := filepath.Dir(name); dir != "." {
			must.NoError(t, st.Root.MkdirAll(dir, 0o755))
		}
		must.NoError(t, st.Root.WriteFile(name, []byte(body), 0o644))
	}
	return loc, st
}

func TestStage_Apply(t *testing.T) {
	t.Parallel()
	old := map[string]string{"index.html": "v1", "keep.txt": "keep", "css/site.css": "old css", "img/logo.png": "png"}
	staged := map[string]string{"index.html": "v2", "css/site.css": "new css", "js/app.js": "js", "img": ""}
	cases := []struct {
		name  string
		clean bool
		want  map[string]string
	}{
		{"merge", false, map[string]string{"index.html": "v2", "keep.txt": "keep", "css/site.css": "new css", "js/app.js": "js"}},
		{"clean", true, map[string]string{"index.html": "v2", "css/site.css": "new css", "js/app.js": "js"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			task := t.TempDir()
			write(t, filepath.Join(task, "local"), old)
			tr, err := Open(task)
			must.NoError(t, err)
			defer tr.Close()
			// "img" is a file in the archive where the target has a folder.
			_, st := stageOf(t, tr, "local", staged, tc.clean)
			res, err := st.Apply()
			must.NoError(t, err)
			must.False(t, res.Created)
			want := map[string]string{}
			for k, v := range tc.want {
				want[k] = v
			}
			want["img"] = ""
			expected := t.TempDir()
			write(t, expected, want)
			must.Eq(t, tree(t, expected), tree(t, filepath.Join(task, "local")))
			st.Discard()
			names, _ := os.ReadDir(task)
			for _, n := range names {
				must.False(t, IsReserved(n.Name()), must.Sprintf("leftover %s", n.Name()))
			}
		})
	}
}

func TestStage_ApplyCreatesMissingTarget(t *testing.T) {
	t.Parallel()
	task := t.TempDir()
	must.NoError(t, os.MkdirAll(filepath.Join(task, "local"), 0o755))
	tr, err := Open(task)
	must.NoError(t, err)
	defer tr.Close()
	_, st := stageOf(t, tr, "local/app", map[string]string{"a.txt": "a"}, false)
	res, err := st.Apply()
	must.NoError(t, err)
	must.True(t, res.Created)
	b, err := os.ReadFile(filepath.Join(task, "local", "app", "a.txt"))
	must.NoError(t, err)
	must.Eq(t, "a", string(b))
}

// TestStage_RollbackOnFailure fails the Nth rename of Apply, for every N,
// and checks that the target is exactly as before each time.
func TestStage_RollbackOnFailure(t *testing.T) {
	t.Parallel()
	old := map[string]string{"index.html": "v1", "keep.txt": "keep", "css/site.css": "old", "deep/a/b/c.txt": "c"}
	staged := map[string]string{"index.html": "v2", "css/site.css": "new", "css/extra.css": "x", "deep/a/b/c.txt": "c2", "new/d.txt": "d"}
	for _, clean := range []bool{false, true} {
		for failAt := 1; failAt <= 12; failAt++ {
			t.Run(fmt.Sprintf("clean=%v/fail=%d", clean, failAt), func(t *testing.T) {
				task := t.TempDir()
				write(t, filepath.Join(task, "local"), old)
				before := tree(t, filepath.Join(task, "local"))
				tr, err := Open(task)
				must.NoError(t, err)
				defer tr.Close()
				_, st := stageOf(t, tr, "local", staged, clean)
				n, rename := 0, st.rename
				st.rename = func(o, nn string) error {
					n++
					if n == failAt {
						return errors.New("injected failure")
					}
					return rename(o, nn)
				}
				_, err = st.Apply()
				if n < failAt {
					// Fewer renames than failAt: the commit succeeded.
					must.NoError(t, err)
					return
				}
				must.ErrorContains(t, err, "nothing was changed")
				must.Eq(t, before, tree(t, filepath.Join(task, "local")))
			})
		}
	}
}

func TestPendingFile(t *testing.T) {
	t.Parallel()
	task := t.TempDir()
	write(t, filepath.Join(task, "local"), map[string]string{"big.txt": strings.Repeat("x", 1000), "dir/a": "a"})
	tr, err := Open(task)
	must.NoError(t, err)
	defer tr.Close()

	loc, err := tr.Locate("local/big.txt", true)
	must.NoError(t, err)
	defer loc.Close()
	p, err := loc.SpoolFile(strings.NewReader("short"))
	must.NoError(t, err)
	// Until Apply the old file is untouched.
	b, _ := os.ReadFile(filepath.Join(task, "local", "big.txt"))
	must.Eq(t, 1000, len(b))
	_, err = p.Apply()
	must.NoError(t, err)
	b, _ = os.ReadFile(filepath.Join(task, "local", "big.txt"))
	must.Eq(t, "short", string(b), must.Sprint("a shorter file leaves no trailing bytes"))

	dirLoc, err := tr.Locate("local/dir", true)
	must.NoError(t, err)
	defer dirLoc.Close()
	_, err = dirLoc.SpoolFile(strings.NewReader("x"))
	var isDir *IsDirError
	must.True(t, errors.As(err, &isDir))
}

func TestLoc_ClearAndRemove(t *testing.T) {
	t.Parallel()
	task := t.TempDir()
	write(t, filepath.Join(task, "local"), map[string]string{"a": "a", "sub/b": "b"})
	tr, err := Open(task)
	must.NoError(t, err)
	defer tr.Close()
	loc, err := tr.Locate("local", false)
	must.NoError(t, err)
	n, err := loc.Clear()
	must.NoError(t, err)
	must.Eq(t, 2, n)
	entries, _ := os.ReadDir(filepath.Join(task, "local"))
	must.SliceEmpty(t, entries)
	must.NoError(t, loc.Remove())
	_, err = os.Stat(filepath.Join(task, "local"))
	must.True(t, os.IsNotExist(err))
	err = loc.Remove()
	must.True(t, errors.Is(err, fs.ErrNotExist))
}
