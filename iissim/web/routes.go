//go:build !windows

package web

import (
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/nomad-iis/nomad-iis/ps"
)

// Site is a site as the routing snapshot is built from it.
type Site struct {
	// Name is the site's name.
	Name string
	// ID is the site's id; its W3C log is W3SVC<ID>.
	ID int64
	// Bindings are where the site listens.
	Bindings []ps.Binding
	// Apps are the site's applications, in any order.
	Apps []App
}

// App is an application of a Site.
type App struct {
	// Path is the application's URL path ("/" for the root application).
	Path string
	// PoolName names the application's pool.
	PoolName string
	// Pool is the pool's runtime; nil when the pool does not exist, which
	// answers the application's requests with 503.
	Pool Pool
	// Dirs are the application's virtual directories, in any order.
	Dirs []Dir
}

// Dir is a virtual directory of an App.
type Dir struct {
	// Path is the directory's path below its application ("/" for the root).
	Path string
	// PhysicalPath is the directory on disk that it serves.
	PhysicalPath string
}

// Routes is an immutable snapshot of how requests are routed, rebuilt
// on every configuration change and read by the frontends without a lock.
type Routes struct {
	// byAddr maps a listen address to the bindings served there.
	byAddr map[string]*addrRoutes
}

// addrRoutes are the bindings of every site on one listen address.
type addrRoutes struct {
	protocol string
	bindings []boundSite
}

// boundSite is one binding and the site it belongs to.
type boundSite struct {
	binding ps.Binding
	site    *siteRoute
}

// siteRoute is a site's applications, longest path first.
type siteRoute struct {
	name string
	id   int64
	apps []*appRoute
}

// appRoute is an application: its pool's runtime (nil when the pool does
// not exist) and its virtual directories, longest path first.
type appRoute struct {
	path     string
	poolName string
	pool     Pool
	vdirs    []vdirRoute
}

// vdirRoute is a virtual directory with its full URL path.
type vdirRoute struct {
	urlPath  string
	physical string
}

// ListenAddr is where a binding listens. "*" means every interface in IIS;
// iissim binds it to 127.0.0.1 unless bindAll (IISSIM_BIND_ALL=1), so that
// tests and demos do not expose anything.
func ListenAddr(b ps.Binding, bindAll bool) string {
	ip := strings.Trim(b.IPAddress, "[]")
	if ip == "*" || ip == "" {
		if bindAll {
			ip = ""
		} else {
			ip = "127.0.0.1"
		}
	}
	return net.JoinHostPort(ip, strconv.Itoa(b.Port))
}

// BuildRoutes makes the routing snapshot of sites.
func BuildRoutes(sites []Site, bindAll bool) *Routes {
	rt := &Routes{byAddr: map[string]*addrRoutes{}}
	for _, s := range sites {
		sr := &siteRoute{name: s.Name, id: s.ID}
		for _, a := range s.Apps {
			ar := &appRoute{path: a.Path, poolName: a.PoolName, pool: a.Pool}
			for _, v := range a.Dirs {
				ar.vdirs = append(ar.vdirs, vdirRoute{urlPath: joinURLPath(a.Path, v.Path), physical: v.PhysicalPath})
			}
			sort.SliceStable(ar.vdirs, func(i, j int) bool { return len(ar.vdirs[i].urlPath) > len(ar.vdirs[j].urlPath) })
			sr.apps = append(sr.apps, ar)
		}
		sort.SliceStable(sr.apps, func(i, j int) bool { return len(sr.apps[i].path) > len(sr.apps[j].path) })
		for _, b := range s.Bindings {
			addr := ListenAddr(b, bindAll)
			ar := rt.byAddr[addr]
			if ar == nil {
				ar = &addrRoutes{protocol: b.Protocol}
				rt.byAddr[addr] = ar
			}
			ar.bindings = append(ar.bindings, boundSite{binding: b, site: sr})
		}
	}
	return rt
}

// Addresses maps each listen address of the snapshot to the protocol of
// its first binding: the listeners the service keeps open.
func (rt *Routes) Addresses() map[string]string {
	out := make(map[string]string, len(rt.byAddr))
	for addr, ar := range rt.byAddr {
		out[addr] = ar.protocol
	}
	return out
}

// joinURLPath joins an application path and a directory path.
func joinURLPath(app, dir string) string {
	if dir == "/" || dir == "" {
		return app
	}
	if app == "/" {
		return dir
	}
	return app + dir
}

// match picks the binding for a request: the host name must match the
// binding's (exactly, or a "*." wildcard), a binding without host name
// takes any; a binding on the request's own IP address wins over "*".
func (a *addrRoutes) match(host string, localIP net.IP) *boundSite {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	best, bestScore := -1, -1
	for i := range a.bindings {
		b := &a.bindings[i].binding
		score := 0
		switch {
		case b.Hostname == "":
			score = 1
		case b.Hostname == host:
			score = 4
		case strings.HasPrefix(b.Hostname, "*.") && strings.HasSuffix(host, b.Hostname[1:]):
			score = 3
		default:
			continue
		}
		score *= 2
		if ip := net.ParseIP(strings.Trim(b.IPAddress, "[]")); ip != nil {
			if localIP == nil || !ip.Equal(localIP) {
				continue
			}
			score++
		}
		if score > bestScore {
			best, bestScore = i, score
		}
	}
	if best < 0 {
		return nil
	}
	return &a.bindings[best]
}

// app finds the application of a URL path: the longest application path
// that is a prefix of it at a segment boundary, ignoring case.
func (s *siteRoute) app(urlPath string) *appRoute {
	for _, a := range s.apps {
		if pathHasPrefix(urlPath, a.path) {
			return a
		}
	}
	return nil
}

// dir finds the virtual directory of a URL path and the path relative to it.
func (a *appRoute) dir(urlPath string) (vdirRoute, string, bool) {
	for _, v := range a.vdirs {
		if pathHasPrefix(urlPath, v.urlPath) {
			rel := strings.TrimPrefix(urlPath[len(v.urlPath):], "/")
			return v, rel, true
		}
	}
	return vdirRoute{}, "", false
}

// pathHasPrefix reports whether p is prefix or below it, ignoring case.
func pathHasPrefix(p, prefix string) bool {
	if prefix == "/" {
		return true
	}
	if len(p) < len(prefix) || !strings.EqualFold(p[:len(prefix)], prefix) {
		return false
	}
	return len(p) == len(prefix) || p[len(prefix)] == '/'
}
