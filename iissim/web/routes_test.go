//go:build !windows

package web

import (
	"context"
	"net"
	"testing"

	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

func TestListenAddr(t *testing.T) {
	must.EqOp(t, "127.0.0.1:80", ListenAddr(ps.Binding{IPAddress: "*", Port: 80}, false))
	must.EqOp(t, ":80", ListenAddr(ps.Binding{IPAddress: "*", Port: 80}, true))
	must.EqOp(t, "10.0.0.5:443", ListenAddr(ps.Binding{IPAddress: "10.0.0.5", Port: 443}, false))
	must.EqOp(t, "[::1]:8080", ListenAddr(ps.Binding{IPAddress: "[::1]", Port: 8080}, false))
}

func TestRoutes(t *testing.T) {
	p := &fakePool{}
	root := func(pool Pool, physical string) []App {
		return []App{{Path: "/", PoolName: "p", Pool: pool, Dirs: []Dir{{Path: "/", PhysicalPath: physical}}}}
	}
	sites := []Site{
		{Name: "any", ID: 1, Bindings: []ps.Binding{{Protocol: "http", IPAddress: "*", Port: 80}}, Apps: root(p, "/any")},
		{Name: "local", ID: 2, Bindings: []ps.Binding{{Protocol: "http", IPAddress: "127.0.0.1", Port: 80}}, Apps: root(p, "/local")},
		{Name: "shop", ID: 3, Bindings: []ps.Binding{{Protocol: "http", IPAddress: "*", Port: 80, Hostname: "shop.test"}},
			Apps: []App{
				{Path: "/", PoolName: "p", Pool: p, Dirs: []Dir{{Path: "/", PhysicalPath: "/shop"}, {Path: "/img", PhysicalPath: "/images"}}},
				// Pool "q" does not exist: the service leaves Pool nil.
				{Path: "/api", PoolName: "q", Dirs: []Dir{{Path: "/", PhysicalPath: "/api"}, {Path: "/docs", PhysicalPath: "/apidocs"}}},
				{Path: "/api/v2", PoolName: "q", Dirs: []Dir{{Path: "/", PhysicalPath: "/api2"}}},
			}},
		{Name: "wild", ID: 4, Bindings: []ps.Binding{{Protocol: "http", IPAddress: "*", Port: 80, Hostname: "*.wild.test"}}, Apps: root(p, "/wild")},
	}
	rt := BuildRoutes(sites, false)
	ar := rt.byAddr["127.0.0.1:80"]
	must.NotNil(t, ar)
	lo := net.IPv4(127, 0, 0, 1)

	siteOf := func(host string) string {
		b := ar.match(host, lo)
		if b == nil {
			return ""
		}
		return b.site.name
	}
	must.EqOp(t, "shop", siteOf("Shop.Test"))
	must.EqOp(t, "shop", siteOf("shop.test."))
	must.EqOp(t, "wild", siteOf("a.wild.test"))
	// Without a matching host name, the binding on the request's own IP wins over "*".
	must.EqOp(t, "local", siteOf("other.test"))
	must.EqOp(t, "any", ar.match("other.test", net.IPv4(10, 1, 1, 1)).site.name)

	shop := ar.match("shop.test", lo).site
	cases := []struct {
		path, app, physical, rel string
	}{
		{"/", "/", "/shop", ""},
		{"/index.html", "/", "/shop", "index.html"},
		{"/IMG/a.png", "/", "/images", "a.png"},
		{"/apifoo", "/", "/shop", "apifoo"},
		{"/API", "/api", "/api", ""},
		{"/api/docs/x/y.txt", "/api", "/apidocs", "x/y.txt"},
		{"/api/v2/z", "/api/v2", "/api2", "z"},
	}
	for _, c := range cases {
		app := shop.app(c.path)
		must.NotNil(t, app, must.Sprintf("app of %s", c.path))
		must.EqOp(t, c.app, app.path, must.Sprintf("app of %s", c.path))
		dir, rel, ok := app.dir(c.path)
		must.True(t, ok)
		must.EqOp(t, c.physical, dir.physical, must.Sprintf("directory of %s", c.path))
		must.EqOp(t, c.rel, rel, must.Sprintf("relative path of %s", c.path))
	}
	must.Nil(t, shop.app("/api").pool, must.Sprint("a missing pool routes to nil"))
	must.NotNil(t, shop.app("/").pool)
}

// fakePool is a pool for routing tests; it never serves.
type fakePool struct{}

func (*fakePool) Acquire(context.Context) (Worker, error) { return Worker{}, ErrPoolStopped }
func (*fakePool) LoadBalancerCapabilities() string        { return "HttpLevel" }
