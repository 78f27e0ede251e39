package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/version"
)

// setVersion sets version.Version for the test, as -ldflags -X does for a
// release, so that the value checked cannot come from anywhere else.
func setVersion(t *testing.T, v string) {
	t.Helper()
	old := version.Version
	version.Version = v
	t.Cleanup(func() { version.Version = old })
}

func TestVersion_Route(t *testing.T) {
	setVersion(t, "7.7.7-routetest")
	e := newEnv(t)
	// Any authenticated caller, whatever its capabilities or scope.
	tok := token(t, jwt.MapClaims{"capabilities": []string{"Status"}, "allocId": otherAlloc})
	for _, opt := range []reqOpt{withKey(testKey), withBearer(tok)} {
		rec := e.do("GET", "/api/v1/version", nil, opt)
		must.Eq(t, http.StatusOK, rec.Code, must.Sprint(rec.Body.String()))
		must.Eq(t, "application/json", rec.Header().Get("Content-Type"))
		var got versionResponse
		must.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
		must.Eq(t, "7.7.7-routetest", got.Version)
	}
}

func TestVersion_OpenAPIInfo(t *testing.T) {
	setVersion(t, "7.7.7-openapitest")
	e := newEnv(t)
	rec := e.do("GET", "/api/v1/openapi.json", nil)
	must.Eq(t, http.StatusOK, rec.Code)
	var doc struct {
		Info struct {
			Version string `json:"version"`
		} `json:"info"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	must.NoError(t, json.Unmarshal(rec.Body.Bytes(), &doc))
	must.Eq(t, "7.7.7-openapitest", doc.Info.Version)
	must.MapContainsKey(t, doc.Components.Schemas, "Version")
}

// TestVersion_NotDisclosedBeforeAuthentication sends every route of the
// router, an unknown route and a wrong method a request without valid
// credentials: neither the headers nor the body carry the version.
func TestVersion_NotDisclosedBeforeAuthentication(t *testing.T) {
	const secretish = "7.7.7-leakcheck"
	setVersion(t, secretish)
	e := newEnv(t)
	type probe struct {
		method, url string
		// public routes (download links) answer an unknown link with 404.
		public bool
	}
	var probes []probe
	for _, rt := range walkRoutes(t, e.srv) {
		probes = append(probes, probe{rt.method, rt.url(testAlloc), rt.public})
	}
	probes = append(probes, probe{"GET", "/api/v1/nothing", false}, probe{"PUT", "/api/v1/version", false}, probe{"GET", "/", false})
	for _, p := range probes {
		for name, opt := range map[string]reqOpt{"none": withHeader("X-None", "1"), "wrong key": withKey(testKey + "x")} {
			rec := e.do(p.method, p.url, strings.NewReader("body"), opt)
			want := http.StatusUnauthorized
			if p.public {
				want = http.StatusNotFound
			}
			must.Eq(t, want, rec.Code, must.Sprintf("%s %s (%s)", p.method, p.url, name))
			for k, vs := range rec.Header() {
				for _, v := range vs {
					must.StrNotContains(t, v, secretish, must.Sprintf("header %s of %s %s", k, p.method, p.url))
				}
			}
			must.StrNotContains(t, rec.Body.String(), secretish)
			must.Eq(t, "", rec.Header().Get("Server"))
		}
	}
}
