package api

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoenig/test/must"
)

// TestHostile_CopyMoveLinksAndParts sends every hostile path to the copy,
// move, download-link and range-upload routes, in every field that takes a
// path: each is refused (400 or 403) without a host path in the answer,
// no link is created and the task directory is unchanged.
func TestHostile_CopyMoveLinksAndParts(t *testing.T) {
	e := newEnv(t)
	must.NoError(t, os.Symlink("../secrets", filepath.Join(e.task.TaskDir, "local", "to-secrets")))
	must.NoError(t, os.Symlink("/etc", filepath.Join(e.task.TaskDir, "local", "etc")))
	before := snapshot(t, e.task.TaskDir)
	hostile := []string{
		"..", "../../etc/passwd", "local/../secrets/vault_token", ".", "local/./index.html",
		"/etc/passwd", `C:\Windows`, "C:", `local\..\secrets`, `\\server\share`,
		"local/NUL", "local/con.txt", "local/index.html::$DATA", "local/index.html\x00.png",
		"local/secret.", "local//index.html", "secrets", "secrets/vault_token", "SECRETS/vault_token",
		"private/p", "local/to-secrets/vault_token", "local/etc/passwd", ".nomad-iis-x.zip", "local/.nomad-iis-part-x",
	}
	body := func(v any) *strings.Reader {
		b, err := json.Marshal(v)
		must.NoError(t, err)
		return strings.NewReader(string(b))
	}
	for _, p := range hostile {
		reqs := []struct {
			name   string
			method string
			url    string
			body   *strings.Reader
			opts   []reqOpt
		}{
			{"copy from", "POST", taskURL("/copy"), body(map[string]any{"from": p, "to": "tmp"}), nil},
			{"copy to", "POST", taskURL("/copy"), body(map[string]any{"from": "local/index.html", "to": p, "replace": true}), nil},
			{"copy name", "POST", taskURL("/copy"), body(map[string]any{"from": "local/index.html", "to": "tmp", "name": p, "replace": true}), nil},
			{"move from", "POST", taskURL("/move"), body(map[string]any{"from": p, "to": "tmp", "replace": true}), nil},
			{"move to", "POST", taskURL("/move"), body(map[string]any{"from": "local/index.html", "to": p, "replace": true}), nil},
			{"link", "POST", taskURL("/links"), body(map[string]any{"path": p}), nil},
			{"part", "PUT", taskURL("/fs/" + url.PathEscape(p)), strings.NewReader("x"), []reqOpt{withKey(testKey), withHeader("Content-Range", "bytes 0-0/2")}},
		}
		for _, rq := range reqs {
			if rq.name == "copy name" && p == "secrets" {
				continue // a file named secrets below tmp/ is an ordinary name
			}
			rec := e.do(rq.method, rq.url, rq.body, rq.opts...)
			must.True(t, rec.Code == 400 || rec.Code == 403, must.Sprintf("%s %q: %d %s", rq.name, p, rec.Code, rec.Body.String()))
			must.StrNotContains(t, problemOf(t, rec).Detail, e.task.TaskDir, must.Sprint("no host path in errors"))
		}
	}
	must.Eq(t, before, snapshot(t, e.task.TaskDir))
	must.Eq(t, "s.SECRET", e.read("secrets/vault_token"))
	must.MapEmpty(t, e.srv.links.byHash)
	must.SliceEmpty(t, e.reg.Events())
}
