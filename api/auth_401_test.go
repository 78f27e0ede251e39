package api

import (
	"net/http"
	"testing"

	"github.com/shoenig/test/must"
)

// A 401 invites a bearer token only when a JWT secret is configured (an
// empty one is none), and its detail is the same whatever failed: it tells
// an anonymous caller nothing about how the API is configured.
func TestAuth_401IsGeneric(t *testing.T) {
	t.Parallel()
	keysOnly := func(c *Config) { c.JWTSecret = []byte{} }
	open := func(c *Config) { c.APIKeys, c.JWTSecret = nil, nil }
	onLocalhost := func(r *http.Request) { r.Host = "localhost" }
	cases := []struct {
		name   string
		cfg    func(*Config)
		opts   []reqOpt
		bearer bool
	}{
		{"keys and secret, no credentials", nil, []reqOpt{withHeader("X-Nothing", "1")}, true},
		{"keys and secret, wrong key", nil, []reqOpt{withKey("wrong")}, true},
		{"keys and secret, malformed token", nil, []reqOpt{withBearer("not.a.jwt")}, true},
		{"keys and secret, basic scheme", nil, []reqOpt{withHeader("Authorization", "Basic dXNlcjpwYXNz")}, true},
		{"keys only, no credentials", keysOnly, []reqOpt{withHeader("X-Nothing", "1")}, false},
		{"keys only, wrong key", keysOnly, []reqOpt{withKey("wrong")}, false},
		{"keys only, bearer token", keysOnly, []reqOpt{withBearer(token(t, nil))}, false},
		{"open, remote caller", open, []reqOpt{onLocalhost}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mutate []func(*Config)
			if tc.cfg != nil {
				mutate = append(mutate, tc.cfg)
			}
			e := newEnv(t, mutate...)
			rec := e.do("GET", taskURL("/status"), nil, tc.opts...)
			must.Eq(t, 401, rec.Code, must.Sprint(rec.Body.String()))
			_, has := rec.Header()["Www-Authenticate"]
			must.Eq(t, tc.bearer, has, must.Sprint(rec.Header()))
			must.Eq(t, "missing or invalid credentials: send the X-Api-Key header or Authorization: Bearer <JWT>", problemOf(t, rec).Detail)
		})
	}
}
