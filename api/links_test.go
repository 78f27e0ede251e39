package api

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/shoenig/test/must"
)

// createLink creates a link with body and returns it (with its URL).
func (e *env) createLink(body string, opts ...reqOpt) linkInfo {
	e.t.Helper()
	rec := e.do("POST", taskURL("/links"), strings.NewReader(body), opts...)
	must.Eq(e.t, 201, rec.Code, must.Sprint(rec.Body.String()))
	var l linkInfo
	must.NoError(e.t, json.Unmarshal(rec.Body.Bytes(), &l))
	must.Eq(e.t, l.URL, rec.Header().Get("Location"))
	return l
}

// fetch requests a link URL without credentials.
func (e *env) fetch(method, url string, opts ...reqOpt) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.do(method, url, nil, append([]reqOpt{withHeader("X-No-Credentials", "1")}, opts...)...)
}

// advance moves the link store's clock forward by d.
func (e *env) advance(d time.Duration) {
	ls := e.srv.links
	ls.mu.Lock()
	defer ls.mu.Unlock()
	now := ls.now()
	ls.now = func() time.Time { return now.Add(d) }
}

func TestLinks_CreateFetchListRevoke(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	read := withBearer(token(t, jwt.MapClaims{"capabilities": []string{"FilesystemRead"}}))
	l := e.createLink(`{"path":"local/index.html"}`, read)
	must.StrHasPrefix(t, linkPrefix, l.URL)
	must.Eq(t, 43, len(strings.TrimPrefix(l.URL, linkPrefix)), must.Sprint("256 random bits, base64url"))
	must.Eq(t, DefaultLinkTTL, l.Expires.Sub(l.Created))
	must.Eq(t, "local/index.html", l.Path)

	// Without credentials, from another site, with bad credentials: served.
	for _, opts := range [][]reqOpt{nil, {withHeader("Sec-Fetch-Site", "cross-site")}, {withKey("wrong")}} {
		rec := e.fetch("GET", l.URL, opts...)
		must.Eq(t, 200, rec.Code, must.Sprint(rec.Body.String()))
		must.Eq(t, "<h1>v1</h1>", rec.Body.String())
		must.StrContains(t, rec.Header().Get("Content-Disposition"), "index.html")
		must.Eq(t, "no-referrer", rec.Header().Get("Referrer-Policy"))
	}
	rec := e.fetch("GET", l.URL, withHeader("Range", "bytes=1-2"))
	must.Eq(t, 206, rec.Code)
	must.Eq(t, "h1", rec.Body.String())

	rec = e.do("GET", taskURL("/links"), nil, read)
	must.Eq(t, 200, rec.Code)
	var list struct{ Links []linkInfo }
	must.NoError(t, json.Unmarshal(rec.Body.Bytes(), &list))
	must.SliceLen(t, 1, list.Links)
	must.Eq(t, "", list.Links[0].URL, must.Sprint("the URL is shown once"))
	must.Eq(t, 4, list.Links[0].Uses)
	must.StrNotContains(t, rec.Body.String(), strings.TrimPrefix(l.URL, linkPrefix))

	rec = e.do("DELETE", taskURL("/links/"+l.ID), nil, read)
	must.Eq(t, 200, rec.Code, must.Sprint(rec.Body.String()))
	must.Eq(t, 404, e.fetch("GET", l.URL).Code)
	must.Eq(t, 404, e.do("DELETE", taskURL("/links/"+l.ID), nil).Code)

	// The token never reaches the log, not even in a refused fetch.
	logs := e.logBuf.String()
	must.StrContains(t, logs, "link#"+l.ID, must.Sprint("fetches are audited by link id"))
	must.StrNotContains(t, logs, strings.TrimPrefix(l.URL, linkPrefix))
	must.StrNotContains(t, logs, "panic")
}

func TestLinks_FolderAndOneUse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := e.createLink(`{"path":"local","oneUse":true,"ttlSeconds":3600}`)
	must.Eq(t, MaxLinkTTL, l.Expires.Sub(l.Created))
	must.Eq(t, 200, e.fetch("HEAD", l.URL).Code, must.Sprint("HEAD does not use it up"))
	rec := e.fetch("GET", l.URL)
	must.Eq(t, 200, rec.Code)
	must.Eq(t, map[string]string{"index.html": "<h1>v1</h1>"}, readZip(t, rec.Body.Bytes()))
	must.Eq(t, 404, e.fetch("GET", l.URL).Code, must.Sprint("used"))
}

func TestLinks_Expire(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := e.createLink(`{"path":"local/index.html","ttlSeconds":60}`)
	e.advance(59 * time.Second)
	must.Eq(t, 200, e.fetch("GET", l.URL).Code)
	e.advance(60 * time.Second)
	must.Eq(t, 404, e.fetch("GET", l.URL).Code)

	l2 := e.createLink(`{"path":"local/index.html","ttlSeconds":1}`)
	e.advance(2 * time.Second)
	e.srv.sweep()
	must.MapEmpty(t, e.srv.links.byHash, must.Sprintf("the janitor removed %s", l2.ID))
}

// TestLinks_DieWithTheirTask: a link whose task ended (or was replaced by
// another run with another directory) serves nothing, and the janitor
// drops it.
func TestLinks_DieWithTheirTask(t *testing.T) {
	t.Parallel()
	t.Run("task ended", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		l := e.createLink(`{"path":"local/index.html"}`)
		kept := e.createLink(`{"path":"local"}`)
		must.True(t, e.reg.Remove(testAlloc, "app"))
		rec := e.fetch("GET", l.URL)
		must.Eq(t, 404, rec.Code)
		must.StrContains(t, problemOf(t, rec).Detail, "no such download link")
		e.srv.sweep()
		must.MapEmpty(t, e.srv.links.byHash, must.Sprintf("dropped %s", kept.ID))
	})
	t.Run("task directory replaced", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		l := e.createLink(`{"path":"local/index.html"}`)
		other := e.task
		other.TaskDir = filepath.Join(t.TempDir(), "app")
		must.NoError(t, os.MkdirAll(filepath.Join(other.TaskDir, "local"), 0o755))
		must.NoError(t, os.WriteFile(filepath.Join(other.TaskDir, "local", "index.html"), []byte("new run"), 0o644))
		must.True(t, e.reg.Update(other))
		must.Eq(t, 404, e.fetch("GET", l.URL).Code)
	})
}

func TestLinks_Refusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		setup      func(e *env)
		caps       []string
		status     int
		detail     string
	}{
		{"secrets", `{"path":"secrets/vault_token"}`, nil, nil, 403, `"path"`},
		{"private, any case", `{"path":"PRIVATE/p"}`, nil, nil, 403, "secrets/ and private/"},
		{"dot-dot", `{"path":"local/../secrets"}`, nil, nil, 400, `"path"`},
		{"missing file", `{"path":"local/nope"}`, nil, nil, 404, "local/nope"},
		{"through a link out of its folder", `{"path":"local/out/vault_token"}`, linkOut, nil, 403, "link"},
		{"no path", `{}`, nil, nil, 400, "required"},
		{"ttl too long", `{"path":"local","ttlSeconds":3601}`, nil, nil, 400, `"ttlSeconds" is 3601; allowed: 1 to 3600`},
		{"ttl negative", `{"path":"local","ttlSeconds":-5}`, nil, nil, 400, "allowed: 1 to 3600"},
		{"unknown field", `{"path":"local","ttl":5}`, nil, nil, 400, "ttl"},
		{"write-only token", `{"path":"local"}`, nil, []string{"FilesystemWrite"}, 403, "FilesystemRead"},
		{"too many links", `{"path":"local"}`, func(e *env) {
			for range MaxLinks {
				_, err := e.srv.links.add(e.task, "local", time.Minute, false, "test")
				must.NoError(e.t, err)
			}
		}, nil, 429, "too many download links"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tc.setup != nil {
				tc.setup(e)
			}
			before := len(e.srv.links.byHash)
			var opts []reqOpt
			if tc.caps != nil {
				opts = append(opts, withBearer(token(t, jwt.MapClaims{"capabilities": tc.caps})))
			}
			rec := e.do("POST", taskURL("/links"), strings.NewReader(tc.body), opts...)
			must.Eq(t, tc.status, rec.Code, must.Sprint(rec.Body.String()))
			must.StrContains(t, problemOf(t, rec).Detail, tc.detail)
			must.Eq(t, before, len(e.srv.links.byHash))
		})
	}
}

// TestLinks_PathRulesAtFetch: a link's path is checked again when it is
// fetched, so replacing the file with a link to the secrets serves nothing.
func TestLinks_PathRulesAtFetch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := e.createLink(`{"path":"local/index.html"}`)
	p := filepath.Join(e.task.TaskDir, "local", "index.html")
	must.NoError(t, os.Remove(p))
	must.NoError(t, os.Symlink("../secrets/vault_token", p))
	rec := e.fetch("GET", l.URL)
	must.Eq(t, 403, rec.Code)
	must.StrNotContains(t, rec.Body.String(), "s.SECRET")
}

// TestLinks_ScopedToTheirTask: a token scoped to another task neither sees
// nor revokes the links of this one.
func TestLinks_ScopedToTheirTask(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	l := e.createLink(`{"path":"local"}`)
	other := withBearer(token(t, jwt.MapClaims{"allocId": otherAlloc}))
	must.Eq(t, 404, e.do("DELETE", taskURL("/links/"+l.ID), nil, other).Code)
	rec := e.do("GET", "/api/v1/allocs/"+otherAlloc+"/web/links", nil, other)
	must.Eq(t, 200, rec.Code, must.Sprint(rec.Body.String()))
	must.StrNotContains(t, rec.Body.String(), l.ID)
	must.Eq(t, 404, e.do("DELETE", "/api/v1/allocs/"+otherAlloc+"/web/links/"+l.ID, nil, other).Code)
	must.Eq(t, 200, e.fetch("GET", l.URL).Code)
}

// TestLinks_PrefixOpensNothingElse: the credential-free prefix reaches the
// link route only; a path under it that names another route is refused.
func TestLinks_PrefixOpensNothingElse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, u := range []string{
		linkPrefix + "../allocs/" + testAlloc + "/app/fs/local%2Findex.html",
		linkPrefix + "..%2Fallocs%2F" + testAlloc + "%2Fapp%2Fstatus",
		linkPrefix + "x/../../allocs/" + testAlloc + "/app/status",
		"/api/v1/download%73/x",
	} {
		for _, m := range []string{"GET", "HEAD", "PUT", "DELETE"} {
			rec := e.fetch(m, u)
			must.True(t, rec.Code == 401 || rec.Code == 404 || rec.Code == 405, must.Sprintf("%s %s: %d %s", m, u, rec.Code, rec.Body.String()))
			must.StrNotContains(t, rec.Body.String(), "<h1>v1</h1>")
		}
	}
	must.SliceEmpty(t, e.iis.callLog())
}
