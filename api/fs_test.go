package api

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/shoenig/test/must"
)

func (e *env) file(rel string) string {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.task.TaskDir, filepath.FromSlash(rel)))
	must.NoError(e.t, err)
	return string(b)
}

func (e *env) write(rel, body string) {
	e.t.Helper()
	p := filepath.Join(e.task.TaskDir, filepath.FromSlash(rel))
	must.NoError(e.t, os.MkdirAll(filepath.Dir(p), 0o755))
	must.NoError(e.t, os.WriteFile(p, []byte(body), 0o644))
}

func TestFS_DownloadFile(t *testing.T) {
	e := newEnv(t)
	// The seed's form (one encoded segment) and the plain nested form.
	for _, p := range []string{"local%2findex.html", "local%2Findex.html", "local/index.html"} {
		rec := e.do("GET", taskURL("/fs/"+p), nil)
		must.Eq(t, 200, rec.Code, must.Sprint(p))
		must.Eq(t, "<h1>v1</h1>", rec.Body.String())
		must.Eq(t, "application/octet-stream", rec.Header().Get("Content-Type"))
		must.Eq(t, `attachment; filename=index.html`, rec.Header().Get("Content-Disposition"))
		must.Eq(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
		must.StrContains(t, rec.Header().Get("Content-Security-Policy"), "sandbox")
		must.Eq(t, "bytes", rec.Header().Get("Accept-Ranges"))
	}
	etag := e.do("GET", taskURL("/fs/local%2findex.html"), nil).Header().Get("Etag")
	must.StrHasPrefix(t, `"`, etag)

	rec := e.do("GET", taskURL("/fs/local%2findex.html"), nil, withKey(testKey), withHeader("If-None-Match", etag))
	must.Eq(t, http.StatusNotModified, rec.Code)
	must.Eq(t, 0, rec.Body.Len())

	rec = e.do("GET", taskURL("/fs/local%2findex.html"), nil, withKey(testKey), withHeader("Range", "bytes=4-6"))
	must.Eq(t, http.StatusPartialContent, rec.Code)
	must.Eq(t, "v1<", rec.Body.String())
	must.Eq(t, "bytes 4-6/11", rec.Header().Get("Content-Range"))

	rec = e.do("GET", taskURL("/fs/local%2findex.html"), nil, withKey(testKey), withHeader("Range", "bytes=-2"))
	must.Eq(t, http.StatusPartialContent, rec.Code)
	must.Eq(t, "1>", rec.Body.String())

	rec = e.do("GET", taskURL("/fs/local%2findex.html"), nil, withKey(testKey), withHeader("Range", "bytes=100-200"))
	must.Eq(t, http.StatusRequestedRangeNotSatisfiable, rec.Code)

	rec = e.do("HEAD", taskURL("/fs/local%2findex.html"), nil)
	must.Eq(t, 200, rec.Code)
	must.Eq(t, "11", rec.Header().Get("Content-Length"))

	// A name with "+" and "%" (double decoding in nomad-iis made these unreachable).
	e.write("local/a+b %41.txt", "plus")
	rec = e.do("GET", taskURL("/fs/local%2Fa%2Bb%20%2541.txt"), nil)
	must.Eq(t, 200, rec.Code, must.Sprint(rec.Body.String()))
	must.Eq(t, "plus", rec.Body.String())

	// Non-ASCII names get an RFC 2231 filename.
	e.write("local/héllo.txt", "h")
	rec = e.do("GET", taskURL("/fs/local%2Fh%C3%A9llo.txt"), nil)
	must.Eq(t, 200, rec.Code)
	must.Eq(t, "attachment; filename*=utf-8''h%C3%A9llo.txt", rec.Header().Get("Content-Disposition"))

	rec = e.do("GET", taskURL("/fs/local%2fmissing.html"), nil)
	must.Eq(t, 404, rec.Code)
	must.StrContains(t, problemOf(t, rec).Detail, "local/missing.html")
}

func TestFS_DownloadFolderAsZip(t *testing.T) {
	e := newEnv(t)
	e.write("local/css/site.css", "body{}")
	e.write("local/img/a.png", "\x89PNG\r\n\x1a\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
	must.NoError(t, os.MkdirAll(filepath.Join(e.task.TaskDir, "local", "empty"), 0o755))
	must.NoError(t, os.Symlink("../secrets", filepath.Join(e.task.TaskDir, "local", "sneaky")))
	rec := e.do("GET", taskURL("/fs/local"), nil)
	must.Eq(t, 200, rec.Code)
	must.Eq(t, "application/zip", rec.Header().Get("Content-Type"))
	must.Eq(t, "attachment; filename=local.zip", rec.Header().Get("Content-Disposition"))
	got := readZip(t, rec.Body.Bytes())
	must.Eq(t, map[string]string{
		"index.html": "<h1>v1</h1>", "css/": "", "css/site.css": "body{}", "img/": "",
		"img/a.png": "\x89PNG\r\n\x1a\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "empty/": "",
	}, got)
	zr, err := zip.NewReader(bytes.NewReader(rec.Body.Bytes()), int64(rec.Body.Len()))
	must.NoError(t, err)
	for _, f := range zr.File {
		if f.Name == "img/a.png" {
			must.Eq(t, zip.Store, f.Method)
		}
	}
}

func TestFS_List(t *testing.T) {
	e := newEnv(t)
	e.write("local/css/site.css", "body{}")
	rec := e.do("GET", taskURL("/ls"), nil)
	must.Eq(t, 200, rec.Code)
	var root listing
	must.NoError(t, json.Unmarshal(rec.Body.Bytes(), &root))
	var names []string
	for _, en := range root.Entries {
		names = append(names, en.Name)
	}
	must.Eq(t, []string{"local", "tmp"}, names, must.Sprint("secrets/ and private/ are not listed"))

	rec = e.do("GET", taskURL("/ls/local"), nil)
	must.Eq(t, 200, rec.Code)
	var l listing
	must.NoError(t, json.Unmarshal(rec.Body.Bytes(), &l))
	must.Eq(t, "directory", l.Type)
	must.Len(t, 2, l.Entries)
	must.Eq(t, "css", l.Entries[0].Name)
	must.Eq(t, "directory", l.Entries[0].Type)
	must.Eq(t, "local/index.html", l.Entries[1].Path)
	must.Eq(t, int64(11), l.Entries[1].Size)
	dl := e.do("GET", taskURL("/fs/local%2findex.html"), nil)
	must.Eq(t, dl.Header().Get("Etag"), l.Entries[1].ETag)

	rec = e.do("GET", taskURL("/ls/local%2Findex.html"), nil)
	must.Eq(t, 200, rec.Code)
	must.StrContains(t, rec.Body.String(), `"type":"file"`)
	must.Eq(t, 403, e.do("GET", taskURL("/ls/secrets"), nil).Code)
}

func TestFS_UploadZip_SeedExample(t *testing.T) {
	e := newEnv(t)
	e.write("local/old.txt", "old")
	archive := testkit.MakeZip(testkit.ZipEntry{Name: "index.html", Body: "<h1>v2</h1>", Method: zip.Deflate},
		testkit.ZipEntry{Name: "css/site.css", Body: "body{}"}, testkit.ZipEntry{Name: "empty/"})
	// The documentation's misspelt type and its curl example (clean=true).
	for _, ct := range []string{"application-zip", "application/zip", "application/x-zip-compressed"} {
		rec := e.do("PUT", taskURL("/fs/local?clean=true"), bytes.NewReader(archive), withKey(testKey), withHeader("Content-Type", ct))
		must.Eq(t, 200, rec.Code, must.Sprintf("%s: %s", ct, rec.Body.String()))
		var res uploadResult
		must.NoError(t, json.Unmarshal(rec.Body.Bytes(), &res))
		must.Eq(t, "zip", res.Kind)
		must.Eq(t, 2, res.Files)
		must.True(t, res.Clean)
		must.Eq(t, "<h1>v2</h1>", e.file("local/index.html"))
		_, err := os.Stat(filepath.Join(e.task.TaskDir, "local", "old.txt"))
		must.True(t, os.IsNotExist(err), must.Sprint("clean=true replaces the folder's content"))
		_, err = os.Stat(filepath.Join(e.task.TaskDir, "local", "empty"))
		must.NoError(t, err)
	}
	// Merge keeps what the archive does not mention.
	e.write("local/keep.txt", "keep")
	rec := e.do("PATCH", taskURL("/fs/local"), bytes.NewReader(testkit.MakeZip(testkit.ZipEntry{Name: "index.html", Body: "v3"})), withKey(testKey), withHeader("Content-Type", "application/zip"))
	must.Eq(t, 200, rec.Code, must.Sprint(rec.Body.String()))
	must.Eq(t, "v3", e.file("local/index.html"))
	must.Eq(t, "keep", e.file("local/keep.txt"))
	must.Eq(t, "body{}", e.file("local/css/site.css"))
	// Into a folder that does not exist yet, several levels down.
	rec = e.do("PUT", taskURL("/fs/local%2Fapps%2Fnew"), bytes.NewReader(testkit.MakeZip(testkit.ZipEntry{Name: "a.txt", Body: "a"})), withKey(testKey), withHeader("Content-Type", "application/zip"))
	must.Eq(t, 200, rec.Code, must.Sprint(rec.Body.String()))
	must.Eq(t, "a", e.file("local/apps/new/a.txt"))
	assertNoStagingLeft(t, e.task.TaskDir)
}

func assertNoStagingLeft(t *testing.T, dir string) {
	t.Helper()
	must.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		must.StrNotContains(t, d.Name(), ".nomad-iis", must.Sprintf("leftover %s", p))
		return nil
	}))
}

func TestFS_UploadFile(t *testing.T) {
	e := newEnv(t)
	e.write("local/web.config", strings.Repeat("long old content ", 100))
	rec := e.do("PATCH", taskURL("/fs/local%2Fweb.config"), strings.NewReader("<short/>"), withKey(testKey), withHeader("Content-Type", "application/octet-stream"))
	must.Eq(t, 200, rec.Code, must.Sprint(rec.Body.String()))
	must.Eq(t, "<short/>", e.file("local/web.config"), must.Sprint("no trailing bytes of the old file"))
	// No Content-Type (curl --data-binary sends form-urlencoded): a file.
	rec = e.do("PUT", taskURL("/fs/local%2Fnew%2Fdir%2Ffile.txt"), strings.NewReader("deep"), withKey(testKey), withHeader("Content-Type", "application/x-www-form-urlencoded"))
	must.Eq(t, 200, rec.Code, must.Sprint(rec.Body.String()))
	must.Eq(t, "deep", e.file("local/new/dir/file.txt"))
	// A ZIP sent as octet-stream is kept as it is.
	archive := testkit.MakeZip(testkit.ZipEntry{Name: "x", Body: "y"})
	rec = e.do("PUT", taskURL("/fs/local%2Fbundle.zip"), bytes.NewReader(archive), withKey(testKey), withHeader("Content-Type", "application/octet-stream"))
	must.Eq(t, 200, rec.Code)
	must.Eq(t, string(archive), e.file("local/bundle.zip"))
	// A file upload aimed at a folder, and an archive aimed at a file.
	rec = e.do("PUT", taskURL("/fs/local"), strings.NewReader("x"), withKey(testKey), withHeader("Content-Type", "text/plain"))
	must.Eq(t, 409, rec.Code)
	rec = e.do("PUT", taskURL("/fs/local%2Fweb.config"), bytes.NewReader(archive), withKey(testKey), withHeader("Content-Type", "application/zip"))
	must.Eq(t, 409, rec.Code)
	must.Eq(t, "<short/>", e.file("local/web.config"))
	rec = e.do("PUT", taskURL("/fs/local?clean=maybe"), bytes.NewReader(archive), withKey(testKey), withHeader("Content-Type", "application/zip"))
	must.Eq(t, 400, rec.Code)
	assertNoStagingLeft(t, e.task.TaskDir)
}

func TestFS_UploadLimits(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxUploadBytes = 1000 })
	before := snapshot(t, e.task.TaskDir)
	rec := e.do("PUT", taskURL("/fs/local%2Fbig.bin"), bytes.NewReader(make([]byte, 2000)), withKey(testKey), withHeader("Content-Type", "application/octet-stream"))
	must.Eq(t, 413, rec.Code)
	must.StrContains(t, problemOf(t, rec).Detail, FlagMaxUpload)
	// Without a Content-Length the limit applies while reading.
	req := strings.NewReader(strings.Repeat("z", 2000))
	rec = e.do("PUT", taskURL("/fs/local%2Fbig.bin"), struct{ *strings.Reader }{req}, withKey(testKey), withHeader("Content-Type", "application/octet-stream"), func(r *http.Request) { r.ContentLength = -1 })
	must.Eq(t, 413, rec.Code)
	must.Eq(t, before, snapshot(t, e.task.TaskDir))
}

// TestFS_HostilePathsWriteNothing sends every hostile path to every file
// route and checks the answer and that the task directory is unchanged.
func TestFS_HostilePathsWriteNothing(t *testing.T) {
	e := newEnv(t)
	must.NoError(t, os.Symlink("../secrets", filepath.Join(e.task.TaskDir, "local", "to-secrets")))
	must.NoError(t, os.Symlink("/etc", filepath.Join(e.task.TaskDir, "local", "etc")))
	before := snapshot(t, e.task.TaskDir)
	paths := []struct {
		raw    string
		status int
	}{
		{"..", 400},
		{"..%2F..%2Fetc%2Fpasswd", 400},
		{"local%2F..%2Fsecrets%2Fvault_token", 400},
		{"local/../secrets/vault_token", 400},
		{"%2E%2E", 400},
		{".", 400},
		{".%2F", 400},
		{"local%2F.%2Findex.html", 400},
		{"%2Fetc%2Fpasswd", 400},
		{"C:%5CWindows", 400},
		{"C%3A", 400},
		{"local%5C..%5Csecrets", 400},
		{"%5C%5Cserver%5Cshare", 400},
		{"local%2FNUL", 400},
		{"local%2Fcon.txt", 400},
		{"local%2Findex.html%3A%3A%24DATA", 400},
		{"local%2Findex.html%00.png", 400},
		{"local%2Fsecret.", 400},
		{"local%2F%2Findex.html", 400},
		{"secrets", 403},
		{"secrets%2Fvault_token", 403},
		{"SECRETS%2Fvault_token", 403},
		{"private%2Fp", 403},
		{"local%2Fto-secrets%2Fvault_token", 403},
		{"local%2Fetc%2Fpasswd", 403},
		{".nomad-iis-x.zip", 403},
	}
	archive := testkit.MakeZip(testkit.ZipEntry{Name: "pwned.txt", Body: "x"})
	for _, p := range paths {
		for _, m := range []struct {
			method string
			ct     string
		}{{"GET", ""}, {"PUT", "application/zip"}, {"PATCH", "application/octet-stream"}, {"DELETE", ""}, {"GET-ls", ""}} {
			method, url := m.method, taskURL("/fs/"+p.raw)
			if method == "GET-ls" {
				method, url = "GET", taskURL("/ls/"+p.raw)
			}
			var body *bytes.Reader
			if method == "PUT" || method == "PATCH" {
				body = bytes.NewReader(archive)
			} else {
				body = bytes.NewReader(nil)
			}
			rec := e.do(method, url, body, withKey(testKey), withHeader("Content-Type", m.ct))
			must.Eq(t, p.status, rec.Code, must.Sprintf("%s %s: %s", m.method, p.raw, rec.Body.String()))
			pr := problemOf(t, rec)
			must.StrNotContains(t, pr.Detail, e.task.TaskDir, must.Sprint("no host path in errors"))
		}
	}
	must.Eq(t, before, snapshot(t, e.task.TaskDir))
	must.Eq(t, "s.SECRET", e.file("secrets/vault_token"))
	// Decoded exactly once: "%252E%252E" is the literal name "%2E%2E", a
	// missing file, never the parent directory.
	rec := e.do("GET", taskURL("/fs/%252E%252E"), nil)
	must.Eq(t, 404, rec.Code)
	must.StrContains(t, problemOf(t, rec).Detail, "%2E%2E")
}

// TestFS_HostileZipsWriteNothing uploads every hostile archive with PUT and
// PATCH, clean and not, and checks that nothing at all changed.
func TestFS_HostileZipsWriteNothing(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxZipEntries = 50; c.MaxZipBytes = 8 << 20 })
	e.write("local/css/site.css", "body{}")
	many := make([]testkit.ZipEntry, 51)
	for i := range many {
		many[i] = testkit.ZipEntry{Name: "f" + strings.Repeat("x", i), Body: "x"}
	}
	archives := []struct {
		name    string
		archive []byte
		status  int
	}{
		{"slip", testkit.MakeZip(testkit.ZipEntry{Name: "ok.txt", Body: "ok"}, testkit.ZipEntry{Name: "../../secrets/vault_token", Body: "pwned"}), 400},
		{"slip to the task root", testkit.MakeZip(testkit.ZipEntry{Name: "../pwned.txt", Body: "x"}), 400},
		{"absolute", testkit.MakeZip(testkit.ZipEntry{Name: "/tmp/pwned.txt", Body: "x"}), 400},
		{"windows absolute", testkit.MakeZip(testkit.ZipEntry{Name: `C:\Windows\pwned.dll`, Body: "x"}), 400},
		{"symlink entry", testkit.MakeZip(testkit.ZipEntry{Name: "link", Body: "../secrets", Mode: fs.ModeSymlink | 0o777}), 400},
		{"symlink then write through it", testkit.MakeZip(testkit.ZipEntry{Name: "link", Body: "../../secrets", Mode: fs.ModeSymlink | 0o777}, testkit.ZipEntry{Name: "link/vault_token", Body: "pwned"}), 400},
		{"duplicate", testkit.MakeZip(testkit.ZipEntry{Name: "index.html", Body: "1"}, testkit.ZipEntry{Name: "index.html", Body: "2"}), 400},
		{"duplicate by case", testkit.MakeZip(testkit.ZipEntry{Name: "Index.html", Body: "1"}, testkit.ZipEntry{Name: "INDEX.HTML", Body: "2"}), 400},
		{"bomb by size", testkit.MakeZip(testkit.ZipEntry{Name: "big", Body: "x", Size: 1 << 30}), 413},
		{"bomb by count", testkit.MakeZip(many...), 413},
		{"bomb by ratio", testkit.MakeZip(testkit.ZipEntry{Name: "zeros", Body: strings.Repeat("\x00", 4<<20), Method: zip.Deflate}), 413},
		{"lying size", testkit.MakeZip(testkit.ZipEntry{Name: "index.html", Body: strings.Repeat("A", 5000), Size: 10}), 400},
		{"device name", testkit.MakeZip(testkit.ZipEntry{Name: "bin/aux.dll", Body: "x"}), 400},
		{"stream", testkit.MakeZip(testkit.ZipEntry{Name: "index.html:evil", Body: "x"}), 400},
		{"not a zip", []byte("this is not an archive"), 400},
		{"truncated zip", testkit.MakeZip(testkit.ZipEntry{Name: "a", Body: strings.Repeat("a", 100)})[:60], 400},
	}
	before := snapshot(t, e.task.TaskDir)
	for _, a := range archives {
		for _, method := range []string{"PUT", "PATCH"} {
			for _, q := range []string{"", "?clean=true"} {
				t.Run(a.name+"/"+method+q, func(t *testing.T) {
					for _, target := range []string{"local", "local%2Fnewdir%2Fsub"} {
						rec := e.do(method, taskURL("/fs/"+target+q), bytes.NewReader(a.archive), withKey(testKey), withHeader("Content-Type", "application/zip"))
						must.Eq(t, a.status, rec.Code, must.Sprintf("%s: %s", target, rec.Body.String()))
						problemOf(t, rec)
						must.Eq(t, before, snapshot(t, e.task.TaskDir))
					}
				})
			}
		}
	}
	// Nothing stopped the pools: the archive was refused before that step.
	for _, c := range e.iis.callLog() {
		must.StrNotContains(t, c, "StopAppPool")
	}
}

func TestFS_PutStopsAndRestoresPools(t *testing.T) {
	e := newEnv(t)
	def, api := e.task.AppPools["default"], e.task.AppPools["api"]
	// The api pool was stopped on purpose: PUT must leave it stopped.
	e.iis.setState(api, "Stopped")
	rec := e.do("PUT", taskURL("/fs/local"), bytes.NewReader(testkit.MakeZip(testkit.ZipEntry{Name: "index.html", Body: "v2"})), withKey(testKey), withHeader("Content-Type", "application/zip"))
	must.Eq(t, 200, rec.Code, must.Sprint(rec.Body.String()))
	must.Eq(t, []string{"StopAppPool " + def, "StartAppPool " + def}, e.iis.callLog())
	var res uploadResult
	must.NoError(t, json.Unmarshal(rec.Body.Bytes(), &res))
	must.Eq(t, []string{"default"}, res.StoppedAppPools)
	events := strings.Join(e.reg.Events(), "\n")
	must.StrContains(t, events, "ApplicationPool default stopped")
	must.StrContains(t, events, "ApplicationPool default started")
	must.StrContains(t, events, "uploaded local")

	// PATCH writes hot: no pool call at all.
	e.iis.mu.Lock()
	e.iis.calls = nil
	e.iis.mu.Unlock()
	rec = e.do("PATCH", taskURL("/fs/local%2Fa.txt"), strings.NewReader("a"), withKey(testKey), withHeader("Content-Type", "text/plain"))
	must.Eq(t, 200, rec.Code)
	must.SliceEmpty(t, e.iis.callLog())
}

func TestFS_PutRestartsPoolsWhenTheWriteFails(t *testing.T) {
	e := newEnv(t)
	// A file where the archive's target folder should be: the apply step
	// fails after the pools were stopped.
	e.write("local/app", "a file")
	rec := e.do("PUT", taskURL("/fs/local%2Fapp"), bytes.NewReader(testkit.MakeZip(testkit.ZipEntry{Name: "a", Body: "a"})), withKey(testKey), withHeader("Content-Type", "application/zip"))
	must.Eq(t, 409, rec.Code)
	rec = e.do("PUT", taskURL("/fs/local"), strings.NewReader("x"), withKey(testKey), withHeader("Content-Type", "text/plain"))
	must.Eq(t, 409, rec.Code)
	log := e.iis.callLog()
	stops, starts := 0, 0
	for _, c := range log {
		if strings.HasPrefix(c, "StopAppPool") {
			stops++
		}
		if strings.HasPrefix(c, "StartAppPool") {
			starts++
		}
	}
	must.Eq(t, stops, starts, must.Sprintf("every stopped pool is started again: %v", log))
}

func TestFS_ConcurrentUploadsConflict(t *testing.T) {
	e := newEnv(t)
	release, _ := e.srv.locks.tryLock(e.task.TaskID, "upload to local")
	defer release()
	before := snapshot(t, e.task.TaskDir)
	for _, r := range []struct{ method, url string }{
		{"PUT", taskURL("/fs/local")}, {"PATCH", taskURL("/fs/local%2Fa")}, {"DELETE", taskURL("/fs/local%2Findex.html")}, {"PUT", taskURL("/stop")},
	} {
		rec := e.do(r.method, r.url, bytes.NewReader(testkit.MakeZip(testkit.ZipEntry{Name: "a", Body: "a"})), withKey(testKey), withHeader("Content-Type", "application/zip"))
		must.Eq(t, 409, rec.Code, must.Sprint(r))
		must.StrContains(t, problemOf(t, rec).Detail, "upload to local")
		must.NotEq(t, "", rec.Header().Get("Retry-After"))
	}
	must.Eq(t, before, snapshot(t, e.task.TaskDir))
	// Another task is not blocked.
	rec := e.do("PUT", "/api/v1/allocs/"+otherAlloc+"/web/stop", nil)
	must.Eq(t, 200, rec.Code, must.Sprint(rec.Body.String()))
}

func TestFS_Delete(t *testing.T) {
	e := newEnv(t)
	e.write("local/a/b.txt", "b")
	e.write("local/a/c/d.txt", "d")
	e.write("local/x.txt", "x")
	rec := e.do("DELETE", taskURL("/fs/local%2Fx.txt"), nil)
	must.Eq(t, 200, rec.Code)
	_, err := os.Stat(filepath.Join(e.task.TaskDir, "local", "x.txt"))
	must.True(t, os.IsNotExist(err))
	must.Eq(t, 404, e.do("DELETE", taskURL("/fs/local%2Fx.txt"), nil).Code)

	// "/*" empties (the seed's documented form, broken in nomad-iis).
	for _, suffix := range []string{"%2F*", "/*", "%2F*.*"} {
		e.write("local/a/b.txt", "b")
		rec = e.do("DELETE", taskURL("/fs/local%2Fa"+suffix), nil)
		must.Eq(t, 200, rec.Code, must.Sprint(rec.Body.String()))
		entries, err := os.ReadDir(filepath.Join(e.task.TaskDir, "local", "a"))
		must.NoError(t, err)
		must.SliceEmpty(t, entries)
	}
	rec = e.do("DELETE", taskURL("/fs/local%2Fa"), nil)
	must.Eq(t, 200, rec.Code)
	_, err = os.Stat(filepath.Join(e.task.TaskDir, "local", "a"))
	must.True(t, os.IsNotExist(err))
	must.StrContains(t, strings.Join(e.reg.Events(), "\n"), "deleted local/a")
}

func TestFS_UploadPreconditions(t *testing.T) {
	e := newEnv(t)
	etag := e.do("GET", taskURL("/fs/local%2Findex.html"), nil).Header().Get("Etag")
	put := func(body string, h ...string) int {
		opts := []reqOpt{withKey(testKey), withHeader("Content-Type", "text/html")}
		for i := 0; i+1 < len(h); i += 2 {
			opts = append(opts, withHeader(h[i], h[i+1]))
		}
		return e.do("PATCH", taskURL("/fs/local%2Findex.html"), strings.NewReader(body), opts...).Code
	}
	must.Eq(t, 412, put("x", "If-Match", `"0-0"`))
	must.Eq(t, 412, put("x", "If-None-Match", "*"))
	must.Eq(t, "<h1>v1</h1>", e.file("local/index.html"))
	must.Eq(t, 200, put("v2", "If-Match", etag))
	// The ETag changed with the content: the old one no longer matches.
	must.Eq(t, 412, put("v3", "If-Match", etag))
	must.Eq(t, 200, put("v3", "If-Match", "*"))
	must.Eq(t, "v3", e.file("local/index.html"))
	rec := e.do("PUT", taskURL("/fs/local%2Fnew.txt"), strings.NewReader("n"), withKey(testKey), withHeader("If-None-Match", "*"))
	must.Eq(t, 200, rec.Code)
	rec = e.do("PUT", taskURL("/fs/local%2Fother.txt"), strings.NewReader("n"), withKey(testKey), withHeader("If-Match", "*"))
	must.Eq(t, 412, rec.Code, must.Sprint("If-Match * needs an existing file"))
}
