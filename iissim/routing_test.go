//go:build !windows

package iissim

import (
	"testing"

	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

func TestRouteSites(t *testing.T) {
	cfg := &appHostConfig{Sites: []*siteConfig{
		{Name: "shop", ID: 3, Bindings: []ps.Binding{{Protocol: "http", IPAddress: "*", Port: 80, Hostname: "shop.test"}},
			Applications: []*appConfig{
				{Path: "/", AppPool: "P", VirtualDirectories: []*vdirConfig{{Path: "/", PhysicalPath: "/shop"}, {Path: "/img", PhysicalPath: "/images"}}},
				{Path: "/api", AppPool: "q", VirtualDirectories: []*vdirConfig{{Path: "/", PhysicalPath: "/api"}}},
			}},
	}}
	p := &poolRun{name: "p"}
	sites := routeSites(cfg, map[string]*poolRun{"p": p})
	must.Len(t, 1, sites)
	must.EqOp(t, "shop", sites[0].Name)
	must.EqOp(t, int64(3), sites[0].ID)
	must.Eq(t, cfg.Sites[0].Bindings, sites[0].Bindings)
	must.Len(t, 2, sites[0].Apps)
	root, api := sites[0].Apps[0], sites[0].Apps[1]
	must.EqOp(t, "P", root.PoolName)
	must.True(t, root.Pool == p, must.Sprint("a pool is found by its lower-case name"))
	must.Len(t, 2, root.Dirs)
	must.EqOp(t, "/images", root.Dirs[1].PhysicalPath)
	must.True(t, api.Pool == nil, must.Sprint("a missing pool routes to a nil interface"))
}
