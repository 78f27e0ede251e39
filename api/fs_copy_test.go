package api

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/shoenig/test/must"
)

// transferBody is the JSON body of a copy or move.
func transferBody(from, to, name string, replace bool) *strings.Reader {
	b, _ := json.Marshal(transferRequest{From: from, To: to, Name: name, Replace: replace})
	return strings.NewReader(string(b))
}

// writeTree creates files (path -> content) under the task directory.
func (e *env) writeTree(files map[string]string) {
	e.t.Helper()
	for p, body := range files {
		full := filepath.Join(e.task.TaskDir, filepath.FromSlash(p))
		must.NoError(e.t, os.MkdirAll(filepath.Dir(full), 0o755))
		must.NoError(e.t, os.WriteFile(full, []byte(body), 0o644))
	}
}

func (e *env) read(p string) string {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.task.TaskDir, filepath.FromSlash(p)))
	must.NoError(e.t, err)
	return string(b)
}

func (e *env) exists(p string) bool {
	_, err := os.Lstat(filepath.Join(e.task.TaskDir, filepath.FromSlash(p)))
	return err == nil
}

func TestCopyMove_Success(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, op         string
		from, to, target string
		newName          string
		replace          bool
		want             transferResult
		gone             bool // the source is gone afterwards
	}{
		{name: "copy a file under a new name into a new folder", op: "copy", from: "local/index.html", to: "local/sub", newName: "copy.html",
			target: "local/sub/copy.html", want: transferResult{Kind: "file", Created: true, Files: 1, Bytes: 11}},
		{name: "copy a folder to another top-level folder", op: "copy", from: "local", to: "tmp", newName: "backup",
			target: "tmp/backup/index.html", want: transferResult{Kind: "directory", Created: true, Files: 3, Folders: 3, Bytes: 11 + 2 + 4}},
		{name: "copy over an existing file, replace", op: "copy", from: "local/index.html", to: "local/dir", newName: "a.txt", replace: true,
			target: "local/dir/a.txt", want: transferResult{Kind: "file", Replaced: true, Files: 1, Bytes: 11}},
		{name: "move a file: one rename", op: "move", from: "local/index.html", to: "local/dir", newName: "moved.html",
			target: "local/dir/moved.html", want: transferResult{Kind: "file", Created: true}, gone: true},
		{name: "move a folder to another top-level folder", op: "move", from: "local/dir", to: "tmp/x",
			target: "tmp/x/dir/a.txt", want: transferResult{Kind: "directory", Created: true, Files: 2, Folders: 2, Bytes: 2 + 4}, gone: true},
		{name: "move over an existing folder, replace", op: "move", from: "local/dir", to: "tmp", newName: "old", replace: true,
			target: "tmp/old/a.txt", want: transferResult{Kind: "directory", Replaced: true, Files: 2, Folders: 2, Bytes: 6}, gone: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.writeTree(map[string]string{"local/dir/a.txt": "aa", "local/dir/deep/b.txt": "bbbb", "tmp/old/stale.txt": "stale"})
			if tc.op == "move" && tc.from == "local/index.html" {
				e.writeTree(map[string]string{"local/dir/moved.txt": "x"})
			}
			rec := e.do("POST", taskURL("/"+tc.op), transferBody(tc.from, tc.to, tc.newName, tc.replace))
			must.Eq(t, 200, rec.Code, must.Sprint(rec.Body.String()))
			var got transferResult
			must.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
			tc.want.Operation, tc.want.From, tc.want.Skipped = tc.op, tc.from, []string{}
			tc.want.Path = got.Path
			must.Eq(t, tc.want, got)
			must.True(t, e.exists(tc.target), must.Sprintf("%s exists", tc.target))
			must.Eq(t, tc.gone, !e.exists(tc.from))
			if tc.replace && tc.target == "tmp/old/a.txt" {
				must.False(t, e.exists("tmp/old/stale.txt"), must.Sprint("nothing of a replaced folder is merged in"))
			}
			if strings.HasSuffix(tc.target, "index.html") || strings.HasSuffix(tc.target, ".html") || tc.target == "local/dir/a.txt" {
				must.Eq(t, "<h1>v1</h1>", e.read(tc.target))
			}
			// No staging entry is left anywhere.
			must.StrNotContains(t, snapshot(t, e.task.TaskDir), ".nomad-iis")
			must.SliceLen(t, 1, e.reg.Events())
		})
	}
}

func TestCopyMove_Refusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, op string
		body     string
		setup    func(e *env)
		caps     []string
		status   int
		detail   string
	}{
		{"target exists", "copy", `{"from":"local/index.html","to":"local","name":"dup.html"}`, nil, nil, 409, `"local/dup.html" exists`},
		{"move onto an existing folder", "move", `{"from":"local/index.html","to":"local","name":"dir"}`, nil, nil, 409, "exists"},
		{"from secrets", "copy", `{"from":"secrets/vault_token","to":"local"}`, nil, nil, 403, `"from"`},
		{"to secrets", "copy", `{"from":"local/index.html","to":"secrets"}`, nil, nil, 403, `"to"`},
		{"move into private", "move", `{"from":"local/index.html","to":"Private/x"}`, nil, nil, 403, "secrets/ and private/"},
		{"from with ..", "copy", `{"from":"local/../secrets/vault_token","to":"local"}`, nil, nil, 400, `"from"`},
		{"absolute to", "copy", `{"from":"local/index.html","to":"/etc"}`, nil, nil, 400, `"to"`},
		{"name with a slash", "copy", `{"from":"local/index.html","to":"local","name":"a/b"}`, nil, nil, 400, "one name"},
		{"name a device", "copy", `{"from":"local/index.html","to":"local","name":"NUL.txt"}`, nil, nil, 400, `"name"`},
		{"reserved name", "copy", `{"from":"local/index.html","to":"local","name":".nomad-iis-x"}`, nil, nil, 403, "reserved"},
		{"move a top-level folder", "move", `{"from":"local","to":"tmp"}`, nil, nil, 403, "top-level"},
		{"copy a folder into itself", "copy", `{"from":"local","to":"local/sub"}`, nil, nil, 400, "into itself"},
		{"move onto itself", "move", `{"from":"local/index.html","to":"local"}`, nil, nil, 400, "the same"},
		{"missing source", "copy", `{"from":"local/nope","to":"tmp"}`, nil, nil, 404, "local/nope"},
		{"missing fields", "copy", `{"from":"local/index.html"}`, nil, nil, 400, "required"},
		{"unknown field", "copy", `{"from":"local/index.html","to":"tmp","overwrite":true}`, nil, nil, 400, "overwrite"},
		{"two objects", "move", `{"from":"local/index.html","to":"tmp"}{}`, nil, nil, 400, "one JSON object"},
		{"not JSON", "copy", `from=local`, nil, nil, 400, "JSON object"},
		{"source through a link out of its folder", "copy", `{"from":"local/out/vault_token","to":"tmp"}`, linkOut, nil, 403, "link"},
		{"target through a link out of its folder", "move", `{"from":"local/index.html","to":"local/out"}`, linkOut, nil, 403, "link"},
		{"copy larger than the limit", "copy", `{"from":"local","to":"tmp"}`, func(e *env) { e.srv.cfg.MaxUploadBytes = 10 }, nil, 413, "more than 10 bytes"},
		{"copy of more entries than the limit", "copy", `{"from":"local","to":"tmp"}`, func(e *env) { e.srv.cfg.MaxZipEntries = 2 }, nil, 413, "entries"},
		{"cross-folder move larger than the limit", "move", `{"from":"local/dir","to":"tmp"}`, func(e *env) { e.srv.cfg.MaxUploadBytes = 1 }, nil, 413, "nothing was changed"},
		{"task busy", "copy", `{"from":"local/index.html","to":"tmp"}`, func(e *env) { e.srv.locks.tryLock(e.task.TaskID, "test") }, nil, 409, "in progress"},
		{"read-only token", "move", `{"from":"local/index.html","to":"tmp"}`, nil, []string{"FilesystemRead"}, 403, "FilesystemWrite"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.writeTree(map[string]string{"local/dup.html": "dup", "local/dir/a.txt": "aa"})
			if tc.setup != nil {
				tc.setup(e)
			}
			before := snapshot(t, e.task.TaskDir)
			var opts []reqOpt
			if tc.caps != nil {
				opts = append(opts, withBearer(token(t, jwt.MapClaims{"capabilities": tc.caps})))
			}
			rec := e.do("POST", taskURL("/"+tc.op), strings.NewReader(tc.body), opts...)
			must.Eq(t, tc.status, rec.Code, must.Sprint(rec.Body.String()))
			must.StrContains(t, problemOf(t, rec).Detail, tc.detail)
			must.Eq(t, before, snapshot(t, e.task.TaskDir), must.Sprint("a refused copy or move changes nothing"))
			must.SliceEmpty(t, e.reg.Events())
		})
	}
}

// linkOut makes local/out a link to ../secrets.
func linkOut(e *env) {
	must.NoError(e.t, os.Symlink("../secrets", filepath.Join(e.task.TaskDir, "local", "out")))
}

// TestCopyMove_MoveOntoALink replaces a link that points at the task's
// secrets: the link itself is replaced, never written through.
func TestCopyMove_MoveOntoALink(t *testing.T) {
	t.Parallel()
	for _, op := range []string{"move", "copy"} {
		t.Run(op, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			lnk := filepath.Join(e.task.TaskDir, "local", "lnk")
			must.NoError(t, os.Symlink("../secrets/vault_token", lnk))
			e.writeTree(map[string]string{"local/new.txt": "new"})
			rec := e.do("POST", taskURL("/"+op), transferBody("local/new.txt", "local", "lnk", false))
			must.Eq(t, 409, rec.Code, must.Sprint(rec.Body.String()))
			rec = e.do("POST", taskURL("/"+op), transferBody("local/new.txt", "local", "lnk", true))
			must.Eq(t, 200, rec.Code, must.Sprint(rec.Body.String()))
			fi, err := os.Lstat(lnk)
			must.NoError(t, err)
			must.True(t, fi.Mode().IsRegular(), must.Sprint("the link was replaced by the file"))
			must.Eq(t, "new", e.read("local/lnk"))
			must.Eq(t, "s.SECRET", e.read("secrets/vault_token"))
		})
	}
}

// TestCopyMove_CopySkipsLinks copies a folder holding a link to the
// secrets: the link is left out and listed, the secret is not copied.
func TestCopyMove_CopySkipsLinks(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	linkOut(e)
	rec := e.do("POST", taskURL("/copy"), transferBody("local", "tmp", "", false))
	must.Eq(t, 200, rec.Code, must.Sprint(rec.Body.String()))
	var got transferResult
	must.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
	must.Eq(t, []string{"out"}, got.Skipped)
	must.False(t, e.exists("tmp/local/out"))
	must.Eq(t, "<h1>v1</h1>", e.read("tmp/local/index.html"))
}
