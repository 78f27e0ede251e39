package api

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/mux"
	"github.com/shoenig/test/must"
)

// missingAlloc is an allocation id no task has.
const missingAlloc = "9d9d9d9d-aaaa-bbbb-cccc-dddddddddddd"

// matrixRoute is one method and path template of the router.
type matrixRoute struct {
	method, template string
	task             bool
	cap              Capability
	// public routes take no credentials: every credential, bad or not,
	// is ignored, and an unknown link is 404.
	public bool
}

// walkRoutes lists every method × path of the live router, so that a route
// added later is covered without touching this test.
func walkRoutes(t *testing.T, s *Server) []matrixRoute {
	t.Helper()
	byTemplate := map[string]*route{}
	for _, rt := range s.routes {
		for _, m := range rt.Methods {
			byTemplate[m+" "+rt.Path] = rt
		}
	}
	var out []matrixRoute
	err := s.router.Walk(func(r *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := r.GetPathTemplate()
		if err != nil {
			return err
		}
		methods, err := r.GetMethods()
		if err != nil {
			return err
		}
		for _, m := range methods {
			rt, ok := byTemplate[m+" "+tpl]
			if !ok {
				return fmt.Errorf("router has %s %s, the route table does not", m, tpl)
			}
			out = append(out, matrixRoute{method: m, template: tpl, task: rt.Task, cap: rt.Cap, public: rt.Public})
		}
		return nil
	})
	must.NoError(t, err)
	return out
}

// url fills the template for allocID.
func (r matrixRoute) url(allocID string) string {
	u := strings.ReplaceAll(r.template, "{allocId}", allocID)
	u = strings.ReplaceAll(u, "{taskName}", "app")
	u = strings.ReplaceAll(u, "{path:.+}", "local/index.html")
	// Any other variable ({name}, {id} ...) gets a value no object has.
	return muxVar.ReplaceAllString(u, "x")
}

// otherCap is a capability other than c.
func otherCap(c Capability) Capability {
	if c == CapStatus {
		return CapScreenshots
	}
	return CapStatus
}

// TestAuth_Matrix sends every route of the router every kind of bad
// credential, for an allocation that exists and one that does not: each is
// refused, with the same status and the same message in both cases.
func TestAuth_Matrix(t *testing.T) {
	e := newEnv(t)
	routes := walkRoutes(t, e.srv)
	must.Eq(t, len(routes), func() int {
		n := 0
		for _, rt := range e.srv.routes {
			n += len(rt.Methods)
		}
		return n
	}(), must.Sprint("every method of the route table is on the router"))

	type credCase struct {
		name string
		opts func(rt matrixRoute) []reqOpt
		// applies reports whether the case is a refusal for rt.
		applies func(rt matrixRoute) bool
		// want is the expected status.
		want int
	}
	all := func(matrixRoute) bool { return true }
	taskOnly := func(rt matrixRoute) bool { return rt.task || rt.public }
	scoped := func(claims jwt.MapClaims) func(matrixRoute) []reqOpt {
		return func(matrixRoute) []reqOpt { return []reqOpt{withBearer(token(t, claims))} }
	}
	cases := []credCase{
		{"no credentials", func(matrixRoute) []reqOpt { return []reqOpt{withHeader("X-None", "1")} }, all, http.StatusUnauthorized},
		{"wrong key", func(matrixRoute) []reqOpt { return []reqOpt{withKey(testKey + "x")} }, all, http.StatusUnauthorized},
		{"expired JWT", scoped(jwt.MapClaims{"exp": time.Now().Add(-2 * time.Hour).Unix()}), all, http.StatusUnauthorized},
		{"JWT wrong secret", func(matrixRoute) []reqOpt {
			s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"iss": JWTIssuer, "aud": JWTAudience,
				"exp": time.Now().Add(time.Hour).Unix(), "namespace": "*", "jobName": "*", "allocId": "*", "capabilities": "*"}).
				SignedString([]byte(strings.Repeat("k", 40)))
			must.NoError(t, err)
			return []reqOpt{withBearer(s)}
		}, all, http.StatusUnauthorized},
		{"JWT for another alloc", scoped(jwt.MapClaims{"allocId": otherAlloc}), taskOnly, http.StatusNotFound},
		{"JWT for another job", scoped(jwt.MapClaims{"jobName": "other-job"}), taskOnly, http.StatusNotFound},
		{"JWT for another namespace", scoped(jwt.MapClaims{"namespace": "team-b"}), taskOnly, http.StatusNotFound},
		{"JWT lacking the capability", func(rt matrixRoute) []reqOpt {
			return []reqOpt{withBearer(token(t, jwt.MapClaims{"capabilities": []string{string(otherCap(rt.cap))}}))}
		}, func(rt matrixRoute) bool { return rt.cap != "" }, http.StatusForbidden},
	}
	checks := 0
	for _, rt := range routes {
		for _, cc := range cases {
			if !cc.applies(rt) {
				continue
			}
			name := fmt.Sprintf("%s %s/%s", rt.method, rt.template, cc.name)
			want := cc.want
			if rt.public {
				want = http.StatusNotFound
			}
			t.Run(name, func(t *testing.T) {
				opts := cc.opts(rt)
				exists := e.do(rt.method, rt.url(testAlloc), strings.NewReader("body"), opts...)
				missing := e.do(rt.method, rt.url(missingAlloc), strings.NewReader("body"), opts...)
				must.Eq(t, want, exists.Code, must.Sprintf("existing alloc: %s", exists.Body.String()))
				must.Eq(t, exists.Code, missing.Code, must.Sprint("same status whether or not the allocation exists"))
				if rt.method != http.MethodHead {
					pe, pm := problemOf(t, exists), problemOf(t, missing)
					must.Eq(t, pe.Detail, strings.ReplaceAll(pm.Detail, missingAlloc, testAlloc),
						must.Sprint("same message whether or not the allocation exists"))
				}
			})
			checks += 2
		}
	}
	// Nothing was changed by any refused request.
	must.SliceEmpty(t, e.iis.callLog())
	must.SliceEmpty(t, e.reg.Events())
	t.Logf("FIGURE auth_routes=%d auth_cases=%d auth_requests=%d", len(routes), len(cases), checks)
}
