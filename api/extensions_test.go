package api

import (
	"encoding/json"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/nomad-iis/nomad-iis/ps"
)

func TestExtensions_ListAndByName(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := e.do("GET", "/api/v1/extensions", nil)
	must.Eq(t, 200, rec.Code, must.Sprint(rec.Body.String()))
	var l extensionList
	must.NoError(t, json.Unmarshal(rec.Body.Bytes(), &l))
	must.Eq(t, "/ext", l.Directory)
	must.Eq(t, []ps.Extension{
		{Name: "audit", Path: "/ext/audit.hook", Status: "Loaded", Hooks: []string{"PreStart"}},
		{Name: "broken", Path: "/ext/broken.hook", Status: "Failed", Error: "not executable", Hooks: []string{}},
	}, l.Extensions)

	rec = e.do("GET", "/api/v1/extensions/BROKEN", nil)
	must.Eq(t, 200, rec.Code, must.Sprint(rec.Body.String()))
	var x ps.Extension
	must.NoError(t, json.Unmarshal(rec.Body.Bytes(), &x))
	must.Eq(t, "broken", x.Name)
	must.Eq(t, "not executable", x.Error)
}

func TestExtensions_Refusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, url string
		opts      func(t *testing.T) []reqOpt
		setup     func(e *env)
		status    int
		detail    string
	}{
		{"unknown name", "/api/v1/extensions/nope", nil, nil, 404, `no admin extension named "nope"; loaded: [audit, broken]`},
		{"name with an encoded slash", "/api/v1/extensions/a%2Fb", nil, nil, 404, `named "a/b"`},
		{"token scoped to a namespace", "/api/v1/extensions", func(t *testing.T) []reqOpt {
			return []reqOpt{withBearer(token(t, jwt.MapClaims{"namespace": "default", "capabilities": []string{"Debug"}}))}
		}, nil, 403, "host-wide"},
		{"scoped token, by name", "/api/v1/extensions/audit", func(t *testing.T) []reqOpt {
			return []reqOpt{withBearer(token(t, jwt.MapClaims{"allocId": testAlloc, "capabilities": []string{"Debug"}}))}
		}, nil, 403, "host-wide"},
		{"token without Debug", "/api/v1/extensions", func(t *testing.T) []reqOpt {
			return []reqOpt{withBearer(token(t, jwt.MapClaims{"capabilities": []string{"FilesystemAccess", "Status"}}))}
		}, nil, 403, "Debug"},
		{"backend down", "/api/v1/extensions", nil, func(e *env) { e.srv.iis = testkit.DownIIS{} }, 503, "unavailable"},
		{"backend down, by name", "/api/v1/extensions/audit", nil, func(e *env) { e.srv.iis = testkit.DownIIS{} }, 503, "unavailable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tc.setup != nil {
				tc.setup(e)
			}
			var opts []reqOpt
			if tc.opts != nil {
				opts = tc.opts(t)
			}
			rec := e.do("GET", tc.url, nil, opts...)
			must.Eq(t, tc.status, rec.Code, must.Sprint(rec.Body.String()))
			must.StrContains(t, problemOf(t, rec).Detail, tc.detail)
		})
	}
}
