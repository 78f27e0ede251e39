//go:build !windows

package iissim

import (
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/nomad-iis/nomad-iis/ps"
)

// routeTable is an immutable snapshot of how requests are routed, rebuilt
// on every configuration change and read by the frontends without a lock.
type routeTable struct {
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
	pool     *poolRun
	vdirs    []vdirRoute
}

// vdirRoute is a virtual directory with its full URL path.
type vdirRoute struct {
	urlPath  string
	physical string
}

// listenAddr is where a binding listens. "*" means every interface in IIS;
// iissim binds it to 127.0.0.1 unless IISSIM_BIND_ALL=1, so that tests and
// demos do not expose anything.
func listenAddr(b ps.Binding, bindAll bool) string {
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

// buildRoutes makes the snapshot of cfg with the pools' runtimes.
func buildRoutes(cfg *appHostConfig, pools map[string]*poolRun, bindAll bool) *routeTable {
	rt := &routeTable{byAddr: map[string]*addrRoutes{}}
	for _, s := range cfg.Sites {
		sr := &siteRoute{name: s.Name, id: s.ID}
		for _, a := range s.Applications {
			ar := &appRoute{path: a.Path, poolName: a.AppPool, pool: pools[strings.ToLower(a.AppPool)]}
			for _, v := range a.VirtualDirectories {
				ar.vdirs = append(ar.vdirs, vdirRoute{urlPath: joinURLPath(a.Path, v.Path), physical: v.PhysicalPath})
			}
			sort.SliceStable(ar.vdirs, func(i, j int) bool { return len(ar.vdirs[i].urlPath) > len(ar.vdirs[j].urlPath) })
			sr.apps = append(sr.apps, ar)
		}
		sort.SliceStable(sr.apps, func(i, j int) bool { return len(sr.apps[i].path) > len(sr.apps[j].path) })
		for _, b := range s.Bindings {
			addr := listenAddr(b, bindAll)
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
