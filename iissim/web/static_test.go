//go:build !windows

package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/shoenig/test/must"
)

// serveFile sends one request to a worker's handler for root, as the
// service forwards it.
func serveFile(t *testing.T, root, method, url, rel string, token string) *http.Response {
	t.Helper()
	h := &fileHandler{token: "tok", pid: 77, getenv: func(k string) string { return map[string]string{"NAME": "value"}[k] }}
	req := httptest.NewRequest(method, url, nil)
	req.Header.Set(hdrToken, token)
	req.Header.Set(hdrRoot, root)
	req.Header.Set(hdrRel, rel)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func TestFileHandler(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"index.html":            "index",
		"Default.htm":           "default",
		"docs/Readme.TXT":       "readme",
		"docs/sub/iisstart.htm": "start",
		"empty/.keep":           "",
		"page.aspx":             `<%@ Page %>n=<%= Environment.GetEnvironmentVariable("NAME") %> p=<%= System.Diagnostics.Process.GetCurrentProcess().Id %>`,
		"data.unknownext":       "x",
		"web.config":            "<configuration/>",
		"bin/app.dll":           "MZ",
		"App_Data/db.mdf":       "db",
		"src/Program.cs":        "class P {}",
		"big.txt":               "0123456789",
	}
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		must.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	outside := filepath.Join(filepath.Dir(root), "secret.txt")
	must.NoError(t, os.WriteFile(outside, []byte("secret"), 0o644))
	must.NoError(t, os.Symlink(outside, filepath.Join(root, "link.txt")))

	cases := []struct {
		name, method, url, rel, token string
		status, substatus             int
		body, ctype                   string
	}{
		{"default document order", "GET", "/", "", "tok", 200, 0, "default", "text/html; charset=utf-8"},
		{"file ignoring case", "GET", "/DOCS/readme.txt", "DOCS/readme.txt", "tok", 200, 0, "readme", "text/plain; charset=utf-8"},
		{"default document below", "GET", "/docs/sub/", "docs/sub", "tok", 200, 0, "start", ""},
		{"directory without slash redirects", "GET", "/docs/sub?x=1", "docs/sub", "tok", 301, 0, "", ""},
		{"directory without default document", "GET", "/empty/", "empty", "tok", 403, 14, "", ""},
		{"missing file", "GET", "/nope.html", "nope.html", "tok", 404, 0, "", ""},
		{"unknown extension", "GET", "/data.unknownext", "data.unknownext", "tok", 404, 3, "", ""},
		{"hidden segment web.config", "GET", "/web.config", "web.config", "tok", 404, 8, "", ""},
		{"hidden segment bin", "GET", "/bin/app.dll", "bin/app.dll", "tok", 404, 8, "", ""},
		{"hidden segment App_Data ignoring case", "GET", "/app_data/db.mdf", "app_data/db.mdf", "tok", 404, 8, "", ""},
		{"denied extension", "GET", "/src/Program.cs", "src/Program.cs", "tok", 404, 7, "", ""},
		{"aspx renders", "GET", "/page.aspx", "page.aspx", "tok", 200, 0, "n=value p=77", "text/html; charset=utf-8"},
		{"aspx accepts POST", "POST", "/page.aspx", "page.aspx", "tok", 200, 0, "n=value p=77", ""},
		{"static file refuses POST", "POST", "/big.txt", "big.txt", "tok", 405, 0, "", ""},
		{"HEAD has no body", "HEAD", "/big.txt", "big.txt", "tok", 200, 0, "", ""},
		{"link leaving the root is refused", "GET", "/link.txt", "link.txt", "tok", 404, 0, "", ""},
		{"wrong token", "GET", "/", "", "other", 403, 0, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := serveFile(t, root, c.method, c.url, c.rel, c.token)
			body, err := io.ReadAll(resp.Body)
			must.NoError(t, err)
			must.EqOp(t, c.status, resp.StatusCode, must.Sprintf("body %q", body))
			if c.token == "tok" && c.status >= 400 {
				must.EqOp(t, strconv.Itoa(c.substatus), resp.Header.Get(hdrSubstatus))
			}
			if c.body != "" {
				must.EqOp(t, c.body, string(body))
			}
			if c.ctype != "" {
				must.EqOp(t, c.ctype, resp.Header.Get("Content-Type"))
			}
			if c.status == 301 {
				must.EqOp(t, "/docs/sub/?x=1", resp.Header.Get("Location"))
			}
		})
	}
}

func TestFileHandler_Range(t *testing.T) {
	root := t.TempDir()
	must.NoError(t, os.WriteFile(filepath.Join(root, "big.txt"), []byte("0123456789"), 0o644))
	h := &fileHandler{token: "tok", getenv: os.Getenv}
	req := httptest.NewRequest("GET", "/big.txt", nil)
	req.Header.Set(hdrToken, "tok")
	req.Header.Set(hdrRoot, root)
	req.Header.Set(hdrRel, "big.txt")
	req.Header.Set("Range", "bytes=2-4")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	must.EqOp(t, http.StatusPartialContent, rec.Code)
	must.EqOp(t, "234", rec.Body.String())
	must.NotEq(t, "", rec.Header().Get("ETag"))
}

func TestCleanURLPath(t *testing.T) {
	for in, want := range map[string]string{
		"":             "/",
		"/":            "/",
		"/a/../b":      "/b",
		"/../../etc":   "/etc",
		"//a//b/":      "/a/b/",
		"/a/./b/../c/": "/a/c/",
	} {
		must.EqOp(t, want, cleanURLPath(in), must.Sprintf("clean %q", in))
	}
}
