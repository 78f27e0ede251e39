package api

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoenig/test/must"
)

// linkEnv is a task directory with links an app could plant in its own
// folders, relative and absolute, one after the other.
func linkEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	e.write("local/sub/a.txt", "a")
	e.write("local/a/keep.txt", "keep")
	e.write("tmp/t.txt", "tmp")
	outside := filepath.Join(filepath.Dir(e.task.TaskDir), "outside.txt")
	must.NoError(t, os.WriteFile(outside, []byte("OUTSIDE"), 0o644))
	for link, target := range map[string]string{
		"local/same-dir":       "index.html",
		"local/a/sibling":      "../sub/a.txt",
		"local/a/up":           "../sub",
		"local/sub-link":       "sub",
		"local/chain1":         "chain2",
		"local/chain2":         "sub/a.txt",
		"local/a/chain-via":    "../sub-link/a.txt",
		"local/chain-out":      "to-secrets/vault_token",
		"local/to-tmp":         "../tmp",
		"local/tmp-file":       "../tmp/t.txt",
		"local/to-secrets":     "../secrets",
		"local/token-link":     "../secrets/vault_token",
		"local/a/deep-secrets": "../../secrets/vault_token",
		"local/rel-out":        "../../outside.txt",
		"local/abs-out":        outside,
		"alias":                "local",
	} {
		must.NoError(t, os.Symlink(target, filepath.Join(e.task.TaskDir, filepath.FromSlash(link))))
	}
	return e
}

// TestFS_LinksOneRule checks the one rule for links, at every component of
// a path: a link is followed while it resolves inside the path's top-level
// folder, and refused (403) when it leads anywhere else: another top-level
// folder, secrets/, outside the task directory. A top-level link is
// refused. A write replaces a final link (like a delete) and never writes
// through it.
func TestFS_LinksOneRule(t *testing.T) {
	t.Run("GET", func(t *testing.T) {
		t.Parallel()
		e := linkEnv(t)
		cases := []struct {
			name, path string
			status     int
			body       string
		}{
			{"last component, same folder", "local/same-dir", 200, "<h1>v1</h1>"},
			{"last component, another folder of the same top-level folder", "local/a/sibling", 200, "a"},
			{"middle component", "local/sub-link/a.txt", 200, "a"},
			{"middle component, up and into a sibling", "local/a/up/a.txt", 200, "a"},
			{"chain of links", "local/chain1", 200, "a"},
			{"chain through a middle link", "local/a/chain-via", 200, "a"},
			{"last component, another top-level folder", "local/tmp-file", 403, ""},
			{"middle component, another top-level folder", "local/to-tmp/t.txt", 403, ""},
			{"last component, secrets", "local/token-link", 403, ""},
			{"last component, secrets from deeper", "local/a/deep-secrets", 403, ""},
			{"middle component, secrets", "local/to-secrets/vault_token", 403, ""},
			{"chain of links to secrets", "local/chain-out", 403, ""},
			{"outside the task directory, relative", "local/rel-out", 403, ""},
			{"outside the task directory, absolute", "local/abs-out", 403, ""},
			{"top-level link", "alias/index.html", 403, ""},
		}
		for _, tc := range cases {
			rec := e.do("GET", taskURL("/fs/"+tc.path), nil)
			must.Eq(t, tc.status, rec.Code, must.Sprintf("%s: GET %s: %s", tc.name, tc.path, rec.Body.String()))
			if tc.status == 200 {
				must.Eq(t, tc.body, rec.Body.String(), must.Sprint(tc.name))
				continue
			}
			body := rec.Body.String()
			must.StrNotContains(t, body, "SECRET", must.Sprint(tc.name))
			must.StrNotContains(t, body, "OUTSIDE", must.Sprint(tc.name))
			must.StrNotContains(t, body, e.task.TaskDir, must.Sprint("errors never carry host paths"))
		}
		// A folder reached through links downloads as a ZIP too.
		rec := e.do("GET", taskURL("/fs/local/a/up"), nil)
		must.Eq(t, 200, rec.Code, must.Sprint(rec.Body.String()))
		must.Eq(t, map[string]string{"a.txt": "a"}, readZip(t, rec.Body.Bytes()))
	})

	t.Run("PUT", func(t *testing.T) {
		t.Parallel()
		cases := []struct {
			name, path string
			status     int
			// lands is where the content is written (for a 200).
			lands string
		}{
			{"middle component", "local/sub-link/new.txt", 200, "local/sub/new.txt"},
			{"middle component, up and into a sibling", "local/a/up/new.txt", 200, "local/sub/new.txt"},
			{"last component, a link is replaced, not written through", "local/a/sibling", 200, "local/a/sibling"},
			{"last component to secrets, replaced", "local/token-link", 200, "local/token-link"},
			{"last component outside, replaced", "local/rel-out", 200, "local/rel-out"},
			{"middle component, another top-level folder", "local/to-tmp/new.txt", 403, ""},
			{"middle component, secrets", "local/to-secrets/new.txt", 403, ""},
			{"top-level link", "alias/new.txt", 403, ""},
		}
		for _, tc := range cases {
			e := linkEnv(t)
			outside := filepath.Join(filepath.Dir(e.task.TaskDir), "outside.txt")
			before := snapshot(t, e.task.TaskDir)
			rec := e.do("PUT", taskURL("/fs/"+tc.path), strings.NewReader("NEW"), withHeader("X-Api-Key", testKey), withHeader("Content-Type", "application/octet-stream"))
			must.Eq(t, tc.status, rec.Code, must.Sprintf("%s: PUT %s: %s", tc.name, tc.path, rec.Body.String()))
			if tc.status == 200 {
				fi, err := os.Lstat(filepath.Join(e.task.TaskDir, filepath.FromSlash(tc.lands)))
				must.NoError(t, err, must.Sprint(tc.name))
				must.True(t, fi.Mode().IsRegular(), must.Sprint(tc.name))
				must.Eq(t, "NEW", e.file(tc.lands), must.Sprint(tc.name))
			} else {
				must.Eq(t, before, snapshot(t, e.task.TaskDir), must.Sprintf("%s: nothing written", tc.name))
			}
			// Whatever the placement, nothing outside local/ changes.
			must.Eq(t, "s.SECRET", e.file("secrets/vault_token"), must.Sprint(tc.name))
			must.Eq(t, "tmp", e.file("tmp/t.txt"), must.Sprint(tc.name))
			must.Eq(t, "a", e.file("local/sub/a.txt"), must.Sprint(tc.name))
			b, err := os.ReadFile(outside)
			must.NoError(t, err)
			must.Eq(t, "OUTSIDE", string(b), must.Sprint(tc.name))
		}
	})
}
