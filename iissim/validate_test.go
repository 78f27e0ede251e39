//go:build !windows

package iissim

import (
	"testing"

	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

// validSpec is a request checkTaskSite accepts.
func validSpec() *ps.TaskSiteSpec {
	return &ps.TaskSiteSpec{
		SiteName:     "nomad-a-web",
		AppPools:     []ps.AppPoolSpec{{Name: "nomad-a-web"}},
		Applications: []ps.ApplicationSpec{{Alias: "", PhysicalPath: "/srv/www", AppPool: "nomad-a-web"}},
		Bindings:     []ps.BindingSpec{{Protocol: "HTTP", IPAddress: "", Port: 8080, Hostname: " Shop.Example.TEST "}},
	}
}

// existing is a server with one site, one pool and one provider.
func existing() *appHostConfig {
	return &appHostConfig{
		Sites: []*siteConfig{{Name: "Default Web Site", ID: 1, Applications: []*appConfig{
			{Path: "/", AppPool: "DefaultAppPool", VirtualDirectories: []*vdirConfig{{Path: "/", PhysicalPath: "/srv/default"}}},
			{Path: "/Shop", AppPool: "DefaultAppPool", VirtualDirectories: []*vdirConfig{{Path: "/", PhysicalPath: "/srv/shop"}}},
		}}},
		AppPools:           []*poolConfig{{AppPoolSpec: ps.AppPoolSpec{Name: "DefaultAppPool"}, AutoStart: true}},
		AutoStartProviders: []ps.AutoStartProviderSpec{{Name: "Warmup", Type: "Warmup.Client, Warmup"}},
	}
}

func TestCheckTaskSite_Normalises(t *testing.T) {
	spec := validSpec()
	spec.Applications = append(spec.Applications, ps.ApplicationSpec{
		Alias: "/api/v1/", PhysicalPath: "/srv/api", AppPool: "DefaultAppPool",
		ServiceAutoStartProvider: "Warmup",
		VirtualDirectories:       []ps.VirtualDirectorySpec{{Alias: "/static/", PhysicalPath: "/srv/static"}},
	})
	must.NoError(t, checkTaskSite(existing(), certStore{dir: t.TempDir()}, spec))
	must.EqOp(t, "http", spec.Bindings[0].Protocol)
	must.EqOp(t, "*", spec.Bindings[0].IPAddress)
	must.EqOp(t, "shop.example.test", spec.Bindings[0].Hostname)
	must.EqOp(t, "api/v1", spec.Applications[1].Alias)
	must.EqOp(t, "static", spec.Applications[1].VirtualDirectories[0].Alias)
}

func TestCheckTaskSite_Refuses(t *testing.T) {
	ms := func(v int64) *int64 { return &v }
	cases := []struct {
		name   string
		mutate func(s *ps.TaskSiteSpec)
		kind   ps.ErrorKind
		text   string
	}{
		{"site exists, ignoring case", func(s *ps.TaskSiteSpec) { s.SiteName = "default web site" }, ps.KindConflict, "already exists"},
		{"pool exists, ignoring case", func(s *ps.TaskSiteSpec) {
			s.AppPools[0].Name = "defaultapppool"
			s.Applications[0].AppPool = "defaultapppool"
		}, ps.KindConflict, "already exists"},
		{"target missing", func(s *ps.TaskSiteSpec) { s.SiteName = ""; s.TargetWebsite = "Nope"; s.Bindings = nil }, ps.KindNotFound, "targetWebsite"},
		{"target alias exists", func(s *ps.TaskSiteSpec) {
			s.SiteName, s.TargetWebsite, s.Bindings = "", "Default Web Site", nil
			s.Applications[0].Alias = "shop"
		}, ps.KindConflict, `"/shop"`},
		{"target root", func(s *ps.TaskSiteSpec) { s.SiteName, s.TargetWebsite, s.Bindings = "", "Default Web Site", nil }, ps.KindInvalidArgument, "root application"},
		{"target with bindings", func(s *ps.TaskSiteSpec) {
			s.SiteName, s.TargetWebsite = "", "Default Web Site"
			s.Applications[0].Alias = "new"
		}, ps.KindInvalidArgument, "bindings"},
		{"unregistered provider", func(s *ps.TaskSiteSpec) { s.Applications[0].ServiceAutoStartProvider = "Other" }, ps.KindInvalidArgument, "serviceAutoStartProvider"},
		{"provider without type", func(s *ps.TaskSiteSpec) {
			s.AutoStartProviders = []ps.AutoStartProviderSpec{{Name: "P"}}
		}, ps.KindInvalidArgument, "autoStartProviders[0]"},
		{"pool name too long", func(s *ps.TaskSiteSpec) {
			s.AppPools[0].Name = "nomad-0123456789012345678901234567890123456789012345678901234567890"
			s.Applications[0].AppPool = s.AppPools[0].Name
		}, ps.KindInvalidArgument, "longer than 64"},
		{"alias with dot segment", func(s *ps.TaskSiteSpec) { s.Applications[0].Alias = "a/../b" }, ps.KindInvalidArgument, "not a valid path"},
		{"alias given twice ignoring case", func(s *ps.TaskSiteSpec) {
			s.Applications = append(s.Applications,
				ps.ApplicationSpec{Alias: "Api", PhysicalPath: "/x", AppPool: "nomad-a-web"},
				ps.ApplicationSpec{Alias: "api", PhysicalPath: "/x", AppPool: "nomad-a-web"})
		}, ps.KindInvalidArgument, "given twice"},
		{"binding given twice", func(s *ps.TaskSiteSpec) { s.Bindings = append(s.Bindings, s.Bindings[0]) }, ps.KindInvalidArgument, "given twice"},
		{"malformed thumbprint", func(s *ps.TaskSiteSpec) {
			s.Bindings[0].Protocol = "https"
			s.Bindings[0].CertificateThumbprint = "ABC"
		}, ps.KindInvalidArgument, "not a SHA-1 thumbprint"},
		{"unknown thumbprint", func(s *ps.TaskSiteSpec) {
			s.Bindings[0].Protocol = "https"
			s.Bindings[0].CertificateThumbprint = "01 23 45 67 89 ab cd ef 01 23 45 67 89 ab cd ef 01 23 45 67"
		}, ps.KindNotFound, "0123456789ABCDEF0123456789ABCDEF01234567"},
		{"password without SpecificUser", func(s *ps.TaskSiteSpec) { s.AppPools[0].Password = "x" }, ps.KindInvalidArgument, "username"},
		{"NUL in an environment value", func(s *ps.TaskSiteSpec) {
			s.AppPools[0].EnvironmentVariables = []ps.EnvVar{{Name: "A", Value: "a\x00b"}}
		}, ps.KindInvalidArgument, "NUL"},
		{"provider named in another case", func(s *ps.TaskSiteSpec) { s.Applications[0].ServiceAutoStartProvider = "warmup" }, ps.KindInvalidArgument, `provider "warmup" is not registered (provider names are case-sensitive)`},
		{"provider given twice", func(s *ps.TaskSiteSpec) {
			s.AutoStartProviders = []ps.AutoStartProviderSpec{{Name: "P", Type: "T"}, {Name: "P", Type: "U"}}
		}, ps.KindInvalidArgument, "autoStartProviders[1].name"},
		{"registered provider with another type", func(s *ps.TaskSiteSpec) {
			s.AutoStartProviders = []ps.AutoStartProviderSpec{{Name: "Warmup", Type: "Other.Client, Other"}}
		}, ps.KindConflict, `autoStartProviders[0]: provider "Warmup" is registered already with type "Warmup.Client, Warmup", not "Other.Client, Other"`},
		{"idle timeout not in whole minutes", func(s *ps.TaskSiteSpec) { s.AppPools[0].IdleTimeoutMs = ms(90_000) }, ps.KindInvalidArgument,
			"appPools[0].idleTimeoutMs: 90000 ms: IIS takes processModel.idleTimeout in whole minutes"},
		{"periodic restart not in whole minutes", func(s *ps.TaskSiteSpec) { s.AppPools[0].PeriodicRestartMs = ms(1000) }, ps.KindInvalidArgument,
			"appPools[0].periodicRestartMs: 1000 ms: IIS takes recycling.periodicRestart.time in whole minutes"},
		{"startup limit not in whole seconds", func(s *ps.TaskSiteSpec) { s.AppPools[0].StartupTimeLimitMs = ms(1500) }, ps.KindInvalidArgument,
			"appPools[0].startupTimeLimitMs: 1500 ms: IIS takes processModel.startupTimeLimit in whole seconds"},
		{"shutdown limit of zero", func(s *ps.TaskSiteSpec) { s.AppPools[0].ShutdownTimeLimitMs = ms(0) }, ps.KindInvalidArgument,
			"appPools[0].shutdownTimeLimitMs: 0 ms: IIS takes processModel.shutdownTimeLimit in whole seconds from 1s"},
		{"pool attribute out of IIS's range", func(s *ps.TaskSiteSpec) {
			s.AppPools[0].Attributes = []ps.Attribute{{Name: "failure.rapidFailProtectionInterval", Value: "00:00:30"}}
		}, ps.KindInvalidArgument, "failure.rapidFailProtectionInterval in whole minutes from 1m0s"},
		{"0.0.0.0 is the same address as *", func(s *ps.TaskSiteSpec) {
			s.Bindings = append(s.Bindings, ps.BindingSpec{Protocol: "http", IPAddress: "0.0.0.0", Port: 8080, Hostname: "shop.example.test"})
		}, ps.KindInvalidArgument, "bindings[1]: conflicts with bindings[0]"},
		{"bad name character from the schema", func(s *ps.TaskSiteSpec) {
			s.AppPools[0].Name = "nomad-a-web[1]"
			s.Applications[0].AppPool = s.AppPools[0].Name
		}, ps.KindInvalidArgument, "appPools[0].name"},
		{"vdir attribute unknown", func(s *ps.TaskSiteSpec) {
			s.Applications[0].VirtualDirectories = []ps.VirtualDirectorySpec{{Alias: "v", PhysicalPath: "/v", Attributes: []ps.Attribute{{Name: "physicalPath", Value: "/x"}}}}
		}, ps.KindInvalidArgument, "physicalPath"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			spec := validSpec()
			c.mutate(spec)
			err := checkTaskSite(existing(), certStore{dir: t.TempDir()}, spec)
			must.Error(t, err)
			must.EqOp(t, c.kind, errorKind(err))
			must.ErrorContains(t, err, c.text)
		})
	}
}
