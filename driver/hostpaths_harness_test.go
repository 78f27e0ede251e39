//go:build !windows

package driver

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/shoenig/test/must"
)

// TestIISDriver_StartTask_HostPaths is the attack of the finding: a task
// that names another allocation's secrets/ directory as its application
// path (absolute, relative with "..", or through a link in its own task
// directory) is refused at start, nothing is created, and the placeholder
// is not copied into the other allocation. allowed_host_paths lets a node
// allow a directory again.
func TestIISDriver_StartTask_HostPaths(t *testing.T) {
	n := newSimNode(t)
	placeholder := t.TempDir()
	must.NoError(t, os.WriteFile(filepath.Join(placeholder, "iisstart.htm"), []byte("start page"), 0o644))
	withPlaceholder := func(c *DriverConfig) { c.PlaceholderAppPath = placeholder }
	_, h := n.newHarness(t, withPlaceholder)

	victim := newTask(t, h, "db", `config {
  application { path = "local" }
}`, map[string]string{"secrets/token": "s3cret", "local/index.html": "victim"})
	secrets := filepath.Join(victim.taskDir(), "secrets")
	empty := filepath.Join(victim.taskDir(), "local", "empty")
	must.NoError(t, os.MkdirAll(empty, 0o755))

	site := func(path string) string {
		return `config {
  application { path = "` + path + `" }
  binding {
    type = "http"
    port = "http"
  }
}`
	}
	cases := []struct {
		name string
		path func(tt *testTask) string
		want string
	}{
		{"absolute", func(*testTask) string { return secrets },
			`application[0].path: "` + secrets + `" is outside the allocation directory; allowed_host_paths permits none`},
		{"relative escape", func(tt *testTask) string {
			rel, err := filepath.Rel(tt.taskDir(), secrets)
			must.NoError(t, err)
			return rel
		}, `is outside the allocation directory; allowed_host_paths permits none`},
		{"link in the task directory", func(tt *testTask) string {
			must.NoError(t, os.Symlink(secrets, filepath.Join(tt.taskDir(), "local", "link")))
			return "local/link"
		}, `application[0].path: "local/link" leads through a symbolic link to "` + secrets + `", which is outside the allocation directory`},
		{"placeholder into another allocation", func(*testTask) string { return empty },
			`application[0].path: "` + empty + `" is outside the allocation directory`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// A harness per task: the cleanup of its allocation closes it.
			d, h := n.newHarness(t, withPlaceholder)
			tt := newTask(t, h, "web", site("local"), nil)
			encodeHCL(t, tt.cfg, site(c.path(tt)))
			_, _, err := h.StartTask(tt.cfg)
			must.ErrorContains(t, err, c.want)
			must.SliceEmpty(t, managed(t, d.IIS(), tt.cfg.AllocID))
		})
	}
	entries, err := os.ReadDir(empty)
	must.NoError(t, err)
	must.SliceEmpty(t, entries)

	t.Run("allowed by the node", func(t *testing.T) {
		d, h := n.newHarness(t, func(c *DriverConfig) { c.AllowedHostPaths = []string{filepath.Join(victim.taskDir(), "local")} })
		tt := newTask(t, h, "web", site(filepath.Join(victim.taskDir(), "local")), nil)
		startTask(t, h, tt)
		must.Eq(t, "victim", mustGet(t, tt.url("/"), 200))
		must.NoError(t, h.DestroyTask(tt.cfg.ID, true))
		must.SliceEmpty(t, managed(t, d.IIS(), tt.cfg.AllocID))
	})
}
