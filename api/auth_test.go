package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
)

func TestAuth_Credentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	status := taskURL("/status")
	wrongSecret := func() string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
			"iss": JWTIssuer, "aud": JWTAudience, "exp": time.Now().Add(time.Hour).Unix(),
			"namespace": "*", "jobName": "*", "allocId": "*", "capabilities": "*",
		}).SignedString([]byte("another-secret-another-secret-another"))
		must.NoError(t, err)
		return s
	}()
	hs512 := func() string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.MapClaims{
			"iss": JWTIssuer, "aud": JWTAudience, "exp": time.Now().Add(time.Hour).Unix(),
			"namespace": "*", "jobName": "*", "allocId": "*", "capabilities": "*",
		}).SignedString([]byte(testSecret))
		must.NoError(t, err)
		return s
	}()
	none := func() string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims{
			"iss": JWTIssuer, "aud": JWTAudience, "exp": time.Now().Add(time.Hour).Unix(),
			"namespace": "*", "jobName": "*", "allocId": "*", "capabilities": "*",
		}).SignedString(jwt.UnsafeAllowNoneSignatureType)
		must.NoError(t, err)
		return s
	}()
	cases := []struct {
		name   string
		opts   []reqOpt
		status int
	}{
		{"first key", []reqOpt{withKey(testKey)}, 200},
		{"second key", []reqOpt{withKey(testKey2)}, 200},
		{"no credentials", []reqOpt{withHeader("X-Nothing", "1")}, 401},
		{"wrong key", []reqOpt{withKey("1234")}, 401},
		{"key prefix", []reqOpt{withKey(testKey + "6")}, 401},
		{"key in query is ignored", []reqOpt{func(r *http.Request) { r.URL.RawQuery = "X-Api-Key=" + testKey }}, 401},
		{"jwt", []reqOpt{withBearer(token(t, nil))}, 200},
		{"jwt lower-case scheme", []reqOpt{withHeader("Authorization", "bearer "+token(t, nil))}, 200},
		{"jwt capabilities as a string", []reqOpt{withBearer(token(t, jwt.MapClaims{"capabilities": "Status"}))}, 200},
		{"jwt expired", []reqOpt{withBearer(token(t, jwt.MapClaims{"exp": time.Now().Add(-time.Hour).Unix()}))}, 401},
		{"jwt without exp", []reqOpt{withBearer(token(t, nil, func(c jwt.MapClaims) { delete(c, "exp") }))}, 401},
		{"jwt wrong issuer", []reqOpt{withBearer(token(t, jwt.MapClaims{"iss": "Other"}))}, 401},
		{"jwt wrong audience", []reqOpt{withBearer(token(t, jwt.MapClaims{"aud": "Other"}))}, 401},
		{"jwt not yet valid", []reqOpt{withBearer(token(t, jwt.MapClaims{"nbf": time.Now().Add(time.Hour).Unix()}))}, 401},
		{"jwt wrong secret", []reqOpt{withBearer(wrongSecret)}, 401},
		{"jwt HS512", []reqOpt{withBearer(hs512)}, 401},
		{"jwt alg none", []reqOpt{withBearer(none)}, 401},
		{"jwt garbage", []reqOpt{withBearer("not.a.jwt")}, 401},
		{"basic scheme", []reqOpt{withHeader("Authorization", "Basic dXNlcjpwYXNz")}, 401},
		{"empty bearer", []reqOpt{withHeader("Authorization", "Bearer ")}, 401},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.do("GET", status, nil, tc.opts...)
			must.Eq(t, tc.status, rec.Code, must.Sprintf("body: %s", rec.Body.String()))
			if tc.status == 401 {
				p := problemOf(t, rec)
				must.StrContains(t, rec.Header().Get("WWW-Authenticate"), "Bearer")
				// No secret material in the answer.
				must.StrNotContains(t, p.Detail, testSecret)
				must.StrNotContains(t, p.Detail, testKey2)
			}
		})
	}
}

func TestAuth_CapabilitiesAndScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	missingTask := e.do("GET", "/api/v1/allocs/"+testAlloc+"/nosuchtask/status", nil)
	must.Eq(t, 404, missingTask.Code)
	cases := []struct {
		name   string
		claims jwt.MapClaims
		method string
		url    string
		status int
	}{
		{"status capability", jwt.MapClaims{"capabilities": []string{"Status"}}, "GET", taskURL("/status"), 200},
		{"wrong capability", jwt.MapClaims{"capabilities": []string{"Screenshots"}}, "GET", taskURL("/status"), 403},
		{"no capabilities claim", jwt.MapClaims{"capabilities": nil}, "GET", taskURL("/status"), 403},
		{"fs capability reads", jwt.MapClaims{"capabilities": []string{"FilesystemAccess"}}, "GET", taskURL("/fs/local%2findex.html"), 200},
		{"status cannot read files", jwt.MapClaims{"capabilities": []string{"Status"}}, "GET", taskURL("/fs/local%2findex.html"), 403},
		{"status cannot stop", jwt.MapClaims{"capabilities": []string{"Status"}}, "PUT", taskURL("/stop"), 403},
		{"lifecycle stops", jwt.MapClaims{"capabilities": []string{"AppPoolLifecycle"}}, "PUT", taskURL("/stop"), 200},
		{"debug needs Debug", jwt.MapClaims{"capabilities": []string{"Status"}}, "GET", "/api/v1/debug", 403},
		{"debug", jwt.MapClaims{"capabilities": []string{"Debug"}}, "GET", "/api/v1/debug", 200},
		{"fs read can download", jwt.MapClaims{"capabilities": []string{"FilesystemRead"}}, "GET", taskURL("/fs/local%2findex.html"), 200},
		{"fs read can list", jwt.MapClaims{"capabilities": []string{"FilesystemRead"}}, "GET", taskURL("/ls/local"), 200},
		{"fs read cannot delete", jwt.MapClaims{"capabilities": []string{"FilesystemRead"}}, "DELETE", taskURL("/fs/local%2findex.html"), 403},
		{"fs write cannot download", jwt.MapClaims{"capabilities": []string{"FilesystemWrite"}}, "GET", taskURL("/fs/local%2findex.html"), 403},
		{"fs write can delete", jwt.MapClaims{"capabilities": []string{"FilesystemWrite"}}, "DELETE", taskURL("/fs/local%2findex.html"), 200},
		{"exact alloc", jwt.MapClaims{"allocId": testAlloc}, "GET", taskURL("/status"), 200},
		{"alloc in a list", jwt.MapClaims{"allocId": []string{otherAlloc, testAlloc}}, "GET", taskURL("/status"), 200},
		{"other alloc", jwt.MapClaims{"allocId": otherAlloc}, "GET", taskURL("/status"), 404},
		{"exact namespace and job", jwt.MapClaims{"namespace": "default", "jobName": "static-sample-app"}, "GET", taskURL("/status"), 200},
		{"other namespace", jwt.MapClaims{"namespace": "team-b"}, "GET", taskURL("/status"), 404},
		{"other job", jwt.MapClaims{"jobName": "other-job"}, "GET", taskURL("/status"), 404},
		{"missing namespace claim", jwt.MapClaims{"namespace": nil}, "GET", taskURL("/status"), 404},
		{"job id is not the job name", jwt.MapClaims{"jobName": "static-sample-app-id"}, "GET", taskURL("/status"), 404},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			claims := jwt.MapClaims{}
			for k, v := range tc.claims {
				claims[k] = v
			}
			tok := token(t, claims, func(c jwt.MapClaims) {
				for k, v := range tc.claims {
					if v == nil {
						delete(c, k)
					}
				}
			})
			rec := e.do(tc.method, tc.url, nil, withBearer(tok))
			must.Eq(t, tc.status, rec.Code, must.Sprintf("body: %s", rec.Body.String()))
			if tc.status == 404 {
				// A task outside the token's scope looks exactly like a task
				// that does not exist: same status, same body shape.
				p := problemOf(t, rec)
				must.StrContains(t, p.Detail, "has no task")
				must.StrNotContains(t, p.Detail, "team-b")
				must.StrNotContains(t, p.Detail, "other-job")
			}
		})
	}
}

func TestAuth_NoOracle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	scoped := token(t, jwt.MapClaims{"namespace": "team-b", "capabilities": []string{"Status"}})
	// The real task (outside the scope) and a task that does not exist.
	exists := e.do("GET", taskURL("/status"), nil, withBearer(scoped))
	missing := e.do("GET", "/api/v1/allocs/"+testAlloc+"/ghost/status", nil, withBearer(scoped))
	must.Eq(t, exists.Code, missing.Code)
	must.Eq(t, strings.ReplaceAll(exists.Body.String(), `\"app\"`, "X"), strings.ReplaceAll(missing.Body.String(), `\"ghost\"`, "X"))
	// Capability first: a token without it gets 403 whether or not the task exists.
	noCap := token(t, jwt.MapClaims{"capabilities": []string{"Screenshots"}})
	must.Eq(t, 403, e.do("GET", taskURL("/status"), nil, withBearer(noCap)).Code)
	must.Eq(t, 403, e.do("GET", "/api/v1/allocs/"+testAlloc+"/ghost/status", nil, withBearer(noCap)).Code)
}

func TestAuth_ScopedDebugSeesOwnHandlesOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rec := e.do("GET", "/api/v1/debug", nil, withBearer(token(t, jwt.MapClaims{"namespace": "team-b", "capabilities": []string{"Debug"}})))
	must.Eq(t, 200, rec.Code)
	body := rec.Body.String()
	must.StrContains(t, body, otherAlloc)
	must.StrNotContains(t, body, testAlloc)
	must.StrNotContains(t, body, "nomad-orphan")
	must.SliceEmpty(t, e.iis.callLog())
}

func TestAuth_OpenModeServesLoopbackOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.APIKeys, c.JWTSecret = nil, nil })
	do := func(remote, host string) int {
		req, err := http.NewRequest("GET", "http://"+host+taskURL("/status"), nil)
		must.NoError(t, err)
		req.RemoteAddr = remote
		rec := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(rec, req)
		return rec.Code
	}
	must.Eq(t, 200, do("127.0.0.1:5555", "localhost:5004"))
	must.Eq(t, 200, do("[::1]:5555", "127.0.0.1:5004"))
	must.Eq(t, 401, do("192.0.2.1:5555", "localhost:5004"))
	// DNS rebinding: a page of evil.example resolved to 127.0.0.1.
	must.Eq(t, 403, do("127.0.0.1:5555", "evil.example:5004"))
}

func TestAuth_BrowserCrossSiteRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	must.Eq(t, 403, e.do("GET", taskURL("/status"), nil, withKey(testKey), withHeader("Origin", "https://evil.example")).Code)
	must.Eq(t, 403, e.do("GET", taskURL("/status"), nil, withKey(testKey), withHeader("Sec-Fetch-Site", "cross-site")).Code)
	// Same origin (a browser on the API's own address) is fine.
	must.Eq(t, 200, e.do("GET", taskURL("/status"), nil, withKey(testKey), withHeader("Origin", "http://example.com")).Code)
}

func TestConfig_WithDefaults(t *testing.T) {
	t.Parallel()
	got := Config{}.withDefaults()
	must.Eq(t, DefaultBind, got.Bind)
	must.Eq(t, DefaultMaxUploadBytes, got.MaxUploadBytes)
	must.Eq(t, DefaultMaxZipStreams, got.MaxZipStreams)
	must.Eq(t, DefaultPoolStopTimeout, got.PoolStopTimeout)
	must.Eq(t, DefaultRequestTimeout, got.RequestTimeout)
	must.Eq(t, DefaultTransferIdleTimeout, got.TransferIdleTimeout)
	must.Eq(t, DefaultScreenshotTimeout, got.ScreenshotTimeout)
	must.Eq(t, DefaultScreenshotConcurrency, got.ScreenshotConcurrency)
	must.Eq(t, DefaultStatusCacheTTL, got.StatusCacheTTL)
	must.Eq(t, DefaultDeployKeepVersions, got.DeployKeepVersions)

	// Values that are set, even invalid ones Validate refuses, are kept.
	set := Config{Bind: "::1", MaxUploadBytes: -1, PoolStopTimeout: time.Second, ScreenshotConcurrency: 7}.withDefaults()
	must.Eq(t, "::1", set.Bind)
	must.Eq(t, -1, set.MaxUploadBytes)
	must.Eq(t, time.Second, set.PoolStopTimeout)
	must.Eq(t, 7, set.ScreenshotConcurrency)
}

func TestConfig_Validate(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"defaults", Config{Port: 5004}, ""},
		{"open on all interfaces", Config{Port: 5004, Bind: "0.0.0.0"}, FlagBind},
		{"key on all interfaces", Config{Port: 5004, Bind: "0.0.0.0", APIKeys: []string{"12345"}}, ""},
		{"secret on all interfaces", Config{Port: 5004, Bind: "::", JWTSecret: []byte(testSecret)}, ""},
		{"short secret", Config{JWTSecret: []byte("short")}, FlagJWTSecret},
		{"empty key", Config{APIKeys: []string{" "}}, FlagKey},
		{"bad port", Config{Port: 70000}, FlagPort},
		{"bad bind", Config{Bind: "example.com"}, FlagBind},
		{"cert without key", Config{TLSCertFile: "c.pem"}, FlagTLSCert},
		{"negative upload", Config{MaxUploadBytes: -1}, FlagMaxUpload},
		{"no deploy version kept", Config{DeployKeepVersions: -1}, FlagDeployKeep},
		{"too many deploy versions kept", Config{DeployKeepVersions: MaxDeployKeepVersions + 1}, FlagDeployKeep},
		{"deploy versions kept", Config{DeployKeepVersions: MaxDeployKeepVersions}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == "" {
				must.NoError(t, err)
				return
			}
			must.ErrorContains(t, err, tc.want)
		})
	}
	_, err := New(Config{Bind: "0.0.0.0"}, testkit.NewRegistry(), testkit.DownIIS{}, nil)
	must.ErrorContains(t, err, FlagKey)
}

func TestAuth_KeyCompareIsDigestBased(t *testing.T) {
	t.Parallel()
	a := newAuthenticator(Config{APIKeys: []string{"a", "bb", "ccc"}})
	must.Eq(t, 1, a.matchKey("a"))
	must.Eq(t, 3, a.matchKey("ccc"))
	must.Eq(t, 0, a.matchKey("cc"))
	must.Eq(t, 0, a.matchKey(""))
	for _, k := range a.keys {
		must.Eq(t, 32, len(k))
	}
}
