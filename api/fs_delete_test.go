package api

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/shoenig/test/must"
)

// lockFile makes rel undeletable, even by root: the immutable attribute
// refuses the unlink and the rename of the file itself (not of its folder).
// The test is skipped where the attribute is not available.
func (e *env) lockFile(rel string) {
	e.t.Helper()
	if runtime.GOOS != "linux" {
		e.t.Skip("the immutable attribute (chattr +i) is Linux only")
	}
	p := filepath.Join(e.task.TaskDir, filepath.FromSlash(rel))
	if out, err := exec.Command("chattr", "+i", p).CombinedOutput(); err != nil {
		e.t.Skipf("chattr +i is not available here: %v %s", err, out)
	}
	e.t.Cleanup(func() { _ = exec.Command("chattr", "-R", "-i", e.task.TaskDir).Run() })
}

func TestFS_DeleteIsAllOrNothing(t *testing.T) {
	cases := []struct {
		name   string
		url    string
		locked string
		// status 200: the target is gone (what cannot be deleted yet is
		// hidden); any other: nothing changed and the detail names entry.
		status int
		entry  string
		gone   string
		event  string
	}{
		{name: "empty a folder with an entry that cannot be moved", url: "/fs/local/site/*", locked: "local/site/f44.txt",
			status: 403, entry: `"local/site/f44.txt"`},
		{name: "delete a file that cannot be deleted", url: "/fs/local/site/f44.txt", locked: "local/site/f44.txt",
			status: 403, entry: `"local/site/f44.txt"`},
		{name: "delete a folder holding a file that cannot be deleted", url: "/fs/local/site", locked: "local/site/d3/locked.txt",
			status: 200, gone: "local/site", event: "Management API deleted local/site"},
		{name: "empty a folder whose subfolder holds a file that cannot be deleted", url: "/fs/local/site/*", locked: "local/site/d3/locked.txt",
			status: 200, gone: "local/site/d3", event: "Management API emptied local/site (90 entries)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			// 90 entries, as in the finding: 80 files and 10 folders.
			for i := range 80 {
				e.write(fmt.Sprintf("local/site/f%02d.txt", i), "f")
			}
			for i := range 10 {
				e.write(fmt.Sprintf("local/site/d%d/index.html", i), "d")
			}
			e.write("local/site/d3/locked.txt", "locked")
			e.lockFile(tc.locked)
			before := snapshot(t, e.task.TaskDir)

			rec := e.do("DELETE", taskURL(tc.url), nil)
			must.Eq(t, tc.status, rec.Code, must.Sprint(rec.Body.String()))
			if tc.status != 200 {
				must.Eq(t, before, snapshot(t, e.task.TaskDir), must.Sprint("every entry is still there"))
				p := problemOf(t, rec)
				must.StrContains(t, p.Detail, "nothing was changed")
				must.StrContains(t, p.Detail, tc.entry)
				must.SliceEmpty(t, e.reg.Events())
				return
			}
			_, err := os.Lstat(filepath.Join(e.task.TaskDir, filepath.FromSlash(tc.gone)))
			must.True(t, os.IsNotExist(err), must.Sprintf("%s is gone: %v", tc.gone, err))
			must.StrContains(t, strings.Join(e.reg.Events(), "\n"), tc.event)
			// What could not be deleted yet is hidden from the listing.
			rec = e.do("GET", taskURL("/ls/local"), nil)
			must.Eq(t, 200, rec.Code)
			must.StrNotContains(t, rec.Body.String(), ".nomad-iis")
		})
	}
}
