//go:build !windows

package iissim

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"

	"github.com/nomad-iis/nomad-iis/iissim/web"
)

// routeSites is the configuration as the web plane routes it: each
// application with the runtime of its pool, nil when the pool does not
// exist. pools are keyed by lower-case name.
func routeSites(cfg *appHostConfig, pools map[string]*poolRun) []web.Site {
	sites := make([]web.Site, 0, len(cfg.Sites))
	for _, s := range cfg.Sites {
		site := web.Site{Name: s.Name, ID: s.ID, Bindings: s.Bindings}
		for _, a := range s.Applications {
			app := web.App{Path: a.Path, PoolName: a.AppPool}
			// A missing pool must stay a nil interface, not a nil *poolRun.
			if p := pools[strings.ToLower(a.AppPool)]; p != nil {
				app.Pool = p
			}
			for _, v := range a.VirtualDirectories {
				app.Dirs = append(app.Dirs, web.Dir{Path: v.Path, PhysicalPath: v.PhysicalPath})
			}
			site.Apps = append(site.Apps, app)
		}
		sites = append(sites, site)
	}
	return sites
}

// listen opens a binding's address, or reports why it cannot: Conflict when
// another process holds the port, InvalidArgument when the address is not
// one of the machine's.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, conflictf("address %s is in use by another process", addr)
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return nil, invalidf("address %s is not an address of this machine", addr)
	case errors.Is(err, syscall.EACCES):
		return nil, conflictf("address %s: permission denied (ports below 1024 need privileges)", addr)
	}
	return nil, fmt.Errorf("listen on %s: %w", addr, err)
}
