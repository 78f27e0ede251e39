package api

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

func TestStoreDirFor(t *testing.T) {
	t.Parallel()
	cases := []struct{ original, want string }{
		{"local", ".local.versions"},
		{"local/site", "local/.site.versions"},
		{"alloc/data/www", "alloc/data/.www.versions"},
	}
	for _, tc := range cases {
		must.Eq(t, tc.want, storeDirFor(tc.original), must.Sprint(tc.original))
	}
}

// testRoot is an os.Root on a new directory holding the given folders.
func testRoot(t *testing.T, dirs ...string) *os.Root {
	t.Helper()
	dir := t.TempDir()
	for _, d := range dirs {
		must.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.FromSlash(d)), 0o755))
	}
	root, err := os.OpenRoot(dir)
	must.NoError(t, err)
	t.Cleanup(func() { _ = root.Close() })
	return root
}

func TestVersionStore_RoundTripAndPrune(t *testing.T) {
	t.Parallel()
	root := testRoot(t, "local/site")
	st, err := openStore(root, "local/site")
	must.NoError(t, err)
	must.Eq(t, "initial", st.Current)
	must.Eq(t, []string{"initial"}, st.ids())
	must.Eq(t, "", st.previous())

	base := st.Versions[0].CreatedAt // "initial": when the store was made
	for i := 1; i <= 4; i++ {
		id, dir, err := st.newVersionDir(root)
		must.NoError(t, err)
		must.Eq(t, "local/.site.versions/v"+strconv.Itoa(i), dir)
		st.Versions = append(st.Versions, deployVersion{ID: id, CreatedAt: base.Add(time.Duration(i) * time.Hour), Path: dir})
		st.Next++
		st.Current = id
	}
	must.Eq(t, "v3", st.previous())
	dropped := st.prune(2)
	must.SliceLen(t, 1, dropped)
	must.Eq(t, "v1", dropped[0].ID)
	must.Eq(t, []string{"initial", "v2", "v3", "v4"}, st.ids())
	// A folder the record does not know (an interrupted deploy) goes too.
	must.NoError(t, root.Mkdir("local/.site.versions/v9", 0o755))
	must.Eq(t, []string{"v1"}, st.removeFolders(root, dropped))
	for _, gone := range []string{"v1", "v9"} {
		_, err := root.Stat("local/.site.versions/" + gone)
		must.True(t, os.IsNotExist(err), must.Sprint(gone))
	}
	must.NoError(t, st.save(root))

	// The record is found again from the folder IIS serves.
	again, err := openStore(root, "local/.site.versions/v4")
	must.NoError(t, err)
	must.Eq(t, "v4", again.Current)
	must.Eq(t, "local/site", again.Original)
	must.Eq(t, []string{"initial", "v2", "v3", "v4"}, again.ids())
	must.Eq(t, 5, again.Next)

	// A folder switched outside the API does not match the record.
	_, err = openStore(root, "local/.site.versions/v2")
	must.ErrorContains(t, err, "changed outside the Management API")
}

func TestVersionStore_PruneKeepsInitialAndCurrent(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	st := &versionStore{Current: "v1", Versions: []deployVersion{
		{ID: "initial", CreatedAt: base},
		{ID: "v1", CreatedAt: base.Add(time.Hour)},
		{ID: "v2", CreatedAt: base.Add(2 * time.Hour)},
		{ID: "v3", CreatedAt: base.Add(3 * time.Hour)},
	}}
	// Rolled back to v1: the newest one other version (v3) stays.
	dropped := st.prune(1)
	must.SliceLen(t, 1, dropped)
	must.Eq(t, "v2", dropped[0].ID)
	must.Eq(t, []string{"initial", "v1", "v3"}, st.ids())
	must.SliceEmpty(t, st.prune(1))
}
