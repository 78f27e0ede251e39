//go:build !windows

package iissim

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

func TestConfig_SaveLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "applicationHost.json")
	empty, err := loadConfig(path)
	must.NoError(t, err)
	must.SliceEmpty(t, empty.Sites)

	cfg := existing()
	must.NoError(t, cfg.save(path))
	must.NoError(t, cfg.save(path))
	entries, err := os.ReadDir(dir)
	must.NoError(t, err)
	must.Len(t, 1, entries, must.Sprint("no temporary file is left behind"))
	info, err := os.Stat(path)
	must.NoError(t, err)
	must.EqOp(t, os.FileMode(0o600), info.Mode().Perm())

	back, err := loadConfig(path)
	must.NoError(t, err)
	must.Eq(t, cfg, back)

	must.NoError(t, os.WriteFile(path, []byte("{not json"), 0o600))
	_, err = loadConfig(path)
	must.Error(t, err)
}

func TestConfig_CloneIsDeep(t *testing.T) {
	cfg := existing()
	c, err := cfg.clone()
	must.NoError(t, err)
	c.Sites[0].Applications[0].VirtualDirectories[0].PhysicalPath = "/changed"
	c.AppPools[0].EnvironmentVariables = append(c.AppPools[0].EnvironmentVariables, ps.EnvVar{Name: "A"})
	must.EqOp(t, "/srv/default", cfg.Sites[0].Applications[0].VirtualDirectories[0].PhysicalPath)
	must.SliceEmpty(t, cfg.AppPools[0].EnvironmentVariables)
}

func TestConfig_NextSiteID(t *testing.T) {
	cfg := &appHostConfig{}
	must.EqOp(t, int64(1), cfg.nextSiteID())
	cfg.Sites = []*siteConfig{{ID: 1}, {ID: 2}, {ID: 4}}
	must.EqOp(t, int64(3), cfg.nextSiteID())
	cfg.Sites = []*siteConfig{{ID: 2}}
	must.EqOp(t, int64(1), cfg.nextSiteID())
}

func TestApplyTaskSite_KeepsNoPassword(t *testing.T) {
	cfg := &appHostConfig{}
	spec := &ps.TaskSiteSpec{
		SiteName: "nomad-s",
		AppPools: []ps.AppPoolSpec{{
			Name: "nomad-p", Identity: "SpecificUser", Username: `DOMAIN\svc`, Password: "hunter2",
			Attributes: []ps.Attribute{{Name: "processModel.password", Value: "hunter3"}, {Name: "autoStart", Value: "false"}},
		}},
		Applications: []ps.ApplicationSpec{{Alias: "api", PhysicalPath: "/srv/api", AppPool: "nomad-p"}},
	}
	www := t.TempDir()
	res, err := applyTaskSite(cfg, spec, www)
	must.NoError(t, err)
	must.EqOp(t, int64(1), res.SiteID)
	pc := cfg.pool("nomad-p")
	must.True(t, pc.HasPassword)
	must.EqOp(t, "", pc.Password)
	must.SliceEmpty(t, pc.Attributes[:len(pc.Attributes)-1])
	must.False(t, pc.AutoStart, must.Sprint("autoStart=false leaves the pool stopped"))
	// The site's root serves inetpub/wwwroot on the default pool.
	root := cfg.site("nomad-s").app("/")
	must.NotNil(t, root)
	must.EqOp(t, "nomad-p", root.AppPool)
	must.EqOp(t, www, root.VirtualDirectories[0].PhysicalPath)
	must.FileExists(t, filepath.Join(www, "iisstart.htm"))
	path := filepath.Join(t.TempDir(), "c.json")
	must.NoError(t, cfg.save(path))
	data, err := os.ReadFile(path)
	must.NoError(t, err)
	must.StrNotContains(t, string(data), "hunter")
}

func TestApplyTaskSite_LeavesOutEmptyEnvironmentValues(t *testing.T) {
	cfg := &appHostConfig{}
	spec := &ps.TaskSiteSpec{
		SiteName: "nomad-s",
		AppPools: []ps.AppPoolSpec{{
			Name:                 "nomad-p",
			EnvironmentVariables: []ps.EnvVar{{Name: "EMPTY", Value: ""}, {Name: "GREETING", Value: "hello"}},
		}},
		Applications: []ps.ApplicationSpec{{Alias: "", PhysicalPath: "/srv/app", AppPool: "nomad-p"}},
	}
	_, err := applyTaskSite(cfg, spec, t.TempDir())
	must.NoError(t, err)
	must.Eq(t, []ps.EnvVar{{Name: "GREETING", Value: "hello"}}, cfg.pool("nomad-p").EnvironmentVariables)
	must.Len(t, 2, spec.AppPools[0].EnvironmentVariables, must.Sprint("the request is not changed"))
}

func TestApplyTaskSite_ListsOnlyTheProvidersItRegisters(t *testing.T) {
	cfg := existing()
	spec := &ps.TaskSiteSpec{
		SiteName: "nomad-s",
		AppPools: []ps.AppPoolSpec{{Name: "nomad-p"}},
		// "Warmup" is registered already (with this type), "warmup" is
		// another provider: names are case-sensitive.
		AutoStartProviders: []ps.AutoStartProviderSpec{{Name: "Warmup", Type: "Warmup.Client, Warmup"}, {Name: "warmup", Type: "Task.Warmup, Task"}},
		Applications:       []ps.ApplicationSpec{{Alias: "", PhysicalPath: "/srv/app", AppPool: "nomad-p", ServiceAutoStartProvider: "Warmup"}},
	}
	must.NoError(t, checkTaskSite(cfg, certStore{dir: t.TempDir()}, spec))
	res, err := applyTaskSite(cfg, spec, t.TempDir())
	must.NoError(t, err)
	must.Eq(t, []string{"warmup"}, res.AutoStartProviders)
	must.Eq(t, []ps.AutoStartProviderSpec{{Name: "Warmup", Type: "Warmup.Client, Warmup"}, {Name: "warmup", Type: "Task.Warmup, Task"}}, cfg.AutoStartProviders)

	// Removing what the result lists keeps the provider that was there.
	removeFromConfig(cfg, &ps.RemoveTaskSiteArgs{SiteName: "nomad-s", AppPools: res.AppPools, AutoStartProviders: res.AutoStartProviders})
	must.Eq(t, []ps.AutoStartProviderSpec{{Name: "Warmup", Type: "Warmup.Client, Warmup"}}, cfg.AutoStartProviders)
}
