package contract

import (
	"fmt"
	"net"
	"testing"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

// nothingLeft checks that a refused request created neither its site nor
// its pools and left its ports free.
func (e *env) nothingLeft(t *testing.T, spec *ps.TaskSiteSpec) {
	t.Helper()
	if spec.SiteName != "" {
		_, err := e.iis.GetWebsite(ctx(t), spec.SiteName)
		must.ErrorIs(t, err, ps.ErrNotFound, must.Sprintf("website %q must not exist", spec.SiteName))
	}
	var names []string
	for _, p := range spec.AppPools {
		names = append(names, p.Name)
	}
	if len(names) > 0 {
		pools, err := e.iis.GetAppPools(ctx(t), names...)
		must.NoError(t, err)
		must.SliceEmpty(t, pools, must.Sprintf("pools %v must not exist", names))
	}
	for _, b := range spec.Bindings {
		if b.Port > 0 && b.Port < 65536 && (b.IPAddress == "127.0.0.1" || b.IPAddress == "*") {
			must.True(t, portFree(b.Port), must.Sprintf("port %d must be free", b.Port))
		}
	}
}

func testDuplicateSite(t *testing.T, e *env) {
	dir := e.content(t, map[string]string{"index.html": "first"})
	name := e.name("dup")
	port := testkit.FreePort(t)
	e.create(t, site(name, e.name("dup-a"), dir, port))

	second := site(name, e.name("dup-b"), dir, testkit.FreePort(t))
	_, err := e.iis.NewTaskSite(ctx(t), second)
	errorKindIs(t, err, ps.ErrConflict, name)
	second.SiteName = ""
	e.nothingLeft(t, second)
	must.EqOp(t, "first", get(t, httpURL(port, "/"), "").body)
}

func testDuplicatePool(t *testing.T, e *env) {
	dir := e.content(t, map[string]string{"index.html": "first"})
	poolName := e.name("dupp")
	e.create(t, site(e.name("dupp-a"), poolName, dir, testkit.FreePort(t)))

	second := site(e.name("dupp-b"), poolName, dir, testkit.FreePort(t))
	_, err := e.iis.NewTaskSite(ctx(t), second)
	errorKindIs(t, err, ps.ErrConflict, poolName)
	second.AppPools = nil
	e.nothingLeft(t, second)
	must.EqOp(t, ps.StateStarted, e.appPool(t, poolName).State)
}

func testBindingOfAnotherSite(t *testing.T, e *env) {
	dir := e.content(t, map[string]string{"index.html": "first"})
	port := testkit.FreePort(t)
	e.create(t, site(e.name("bind-a"), e.name("bind-a"), dir, port))

	second := site(e.name("bind-b"), e.name("bind-b"), dir, port)
	_, err := e.iis.NewTaskSite(ctx(t), second)
	errorKindIs(t, err, ps.ErrConflict, fmt.Sprint(port))
	second.Bindings = nil
	e.nothingLeft(t, second)
	must.EqOp(t, "first", get(t, httpURL(port, "/"), "").body)
}

func testPortOfAnotherProcess(t *testing.T, e *env) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must.NoError(t, err)
	defer func() { _ = ln.Close() }()
	port := ln.Addr().(*net.TCPAddr).Port
	dir := e.content(t, map[string]string{"index.html": "never"})
	spec := site(e.name("busy"), e.name("busy"), dir, port)
	_, err = e.iis.NewTaskSite(ctx(t), spec)
	errorKindIs(t, err, ps.ErrConflict, fmt.Sprint(port))
	spec.Bindings = nil
	e.nothingLeft(t, spec)
}

func testBadInput(t *testing.T, e *env) {
	dir := e.content(t, map[string]string{"index.html": "never"})
	i64 := func(v int64) *int64 { return &v }
	str := func(v string) *string { return &v }
	cases := []struct {
		name     string
		mutate   func(s *ps.TaskSiteSpec)
		mentions string
	}{
		{"no site name and no target", func(s *ps.TaskSiteSpec) { s.SiteName = "" }, "siteName"},
		{"both a site name and a target", func(s *ps.TaskSiteSpec) { s.TargetWebsite = "Default Web Site" }, "targetWebsite"},
		{"no application", func(s *ps.TaskSiteSpec) { s.Applications = nil }, "applications"},
		{"site name with a slash", func(s *ps.TaskSiteSpec) { s.SiteName += "/x" }, "siteName"},
		{"pool name with a colon", func(s *ps.TaskSiteSpec) { s.AppPools[0].Name += ":x"; s.Applications[0].AppPool = s.AppPools[0].Name }, "name"},
		{"identity outside the IIS set", func(s *ps.TaskSiteSpec) { s.AppPools[0].Identity = "Administrator" }, "identity"},
		{"SpecificUser without a user name", func(s *ps.TaskSiteSpec) { s.AppPools[0].Identity = "SpecificUser" }, "username"},
		{"unknown pipeline mode", func(s *ps.TaskSiteSpec) { s.AppPools[0].ManagedPipelineMode = "Hybrid" }, "managedPipelineMode"},
		{"unknown runtime version", func(s *ps.TaskSiteSpec) { s.AppPools[0].ManagedRuntimeVersion = str("v3.5") }, "managedRuntimeVersion"},
		{"unknown start mode", func(s *ps.TaskSiteSpec) { s.AppPools[0].StartMode = "Always" }, "startMode"},
		{"unknown load balancer capabilities", func(s *ps.TaskSiteSpec) { s.AppPools[0].LoadBalancerCapabilities = "Both" }, "loadBalancerCapabilities"},
		{"negative idle timeout", func(s *ps.TaskSiteSpec) { s.AppPools[0].IdleTimeoutMs = i64(-1) }, "idleTimeoutMs"},
		{"queue length out of range", func(s *ps.TaskSiteSpec) { s.AppPools[0].QueueLength = i64(5) }, "queueLength"},
		{"unknown pool attribute", func(s *ps.TaskSiteSpec) {
			s.AppPools[0].Attributes = []ps.Attribute{{Name: "processModel.bogus", Value: "1"}}
		}, "processModel.bogus"},
		{"pool attribute of the wrong type", func(s *ps.TaskSiteSpec) {
			s.AppPools[0].Attributes = []ps.Attribute{{Name: "processModel.maxProcesses", Value: "two"}}
		}, "processModel.maxProcesses"},
		{"unknown application attribute", func(s *ps.TaskSiteSpec) {
			s.Applications[0].Attributes = []ps.Attribute{{Name: "bogus", Value: "1"}}
		}, "bogus"},
		{"environment variable given twice", func(s *ps.TaskSiteSpec) {
			s.AppPools[0].EnvironmentVariables = []ps.EnvVar{{Name: "FOO", Value: "1"}, {Name: "foo", Value: "2"}}
		}, "environmentVariables"},
		{"pool given twice", func(s *ps.TaskSiteSpec) { s.AppPools = append(s.AppPools, s.AppPools[0]) }, "appPools"},
		{"application on a missing pool", func(s *ps.TaskSiteSpec) { s.Applications[0].AppPool = s.AppPools[0].Name + "-missing" }, "appPool"},
		{"application without a pool", func(s *ps.TaskSiteSpec) { s.Applications[0].AppPool = "" }, "appPool"},
		{"alias given twice", func(s *ps.TaskSiteSpec) {
			s.Applications = append(s.Applications, ps.ApplicationSpec{Alias: "api", PhysicalPath: dir, AppPool: s.AppPools[0].Name},
				ps.ApplicationSpec{Alias: "/api", PhysicalPath: dir, AppPool: s.AppPools[0].Name})
		}, "alias"},
		{"relative physical path", func(s *ps.TaskSiteSpec) { s.Applications[0].PhysicalPath = "local" }, "physicalPath"},
		{"virtual directory without an alias", func(s *ps.TaskSiteSpec) {
			s.Applications[0].VirtualDirectories = []ps.VirtualDirectorySpec{{Alias: "", PhysicalPath: dir}}
		}, "alias"},
		{"unknown binding protocol", func(s *ps.TaskSiteSpec) { s.Bindings[0].Protocol = "ftp" }, "protocol"},
		{"port 0", func(s *ps.TaskSiteSpec) { s.Bindings[0].Port = 0 }, "port"},
		{"port above 65535", func(s *ps.TaskSiteSpec) { s.Bindings[0].Port = 70000 }, "port"},
		{"bad IP address", func(s *ps.TaskSiteSpec) { s.Bindings[0].IPAddress = "300.1.1.1" }, "ipAddress"},
		{"bad host name", func(s *ps.TaskSiteSpec) { s.Bindings[0].Hostname = "exa mple" }, "hostname"},
		{"https without a certificate", func(s *ps.TaskSiteSpec) { s.Bindings[0].Protocol = "https" }, "certificateThumbprint"},
		{"certificate on an http binding", func(s *ps.TaskSiteSpec) {
			s.Bindings[0].CertificateThumbprint = "0123456789ABCDEF0123456789ABCDEF01234567"
		}, "certificateThumbprint"},
		{"SNI without a host name", func(s *ps.TaskSiteSpec) {
			s.Bindings[0].Protocol = "https"
			s.Bindings[0].RequireSNI = true
			s.Bindings[0].CertificateThumbprint = "0123456789ABCDEF0123456789ABCDEF01234567"
		}, "requireSni"},
		{"missing default pool", func(s *ps.TaskSiteSpec) { s.DefaultAppPool = s.AppPools[0].Name + "-missing" }, "defaultAppPool"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := e.name(fmt.Sprintf("bad%d", i))
			spec := site(n, n, dir, testkit.FreePort(t))
			c.mutate(spec)
			_, err := e.iis.NewTaskSite(ctx(t), spec)
			errorKindIs(t, err, ps.ErrInvalidArgument, c.mentions)
			e.nothingLeft(t, spec)
		})
	}

	// An unknown certificate is not found, and nothing is created either.
	n := e.name("badcert")
	spec := site(n, n, dir, testkit.FreePort(t))
	spec.Bindings[0].Protocol = "https"
	spec.Bindings[0].CertificateThumbprint = "0123456789ABCDEF0123456789ABCDEF01234567"
	_, err := e.iis.NewTaskSite(ctx(t), spec)
	errorKindIs(t, err, ps.ErrNotFound, "0123456789ABCDEF0123456789ABCDEF01234567")
	e.nothingLeft(t, spec)
}

func testRemoveMissing(t *testing.T, e *env) {
	args := &ps.RemoveTaskSiteArgs{
		SiteName:           e.name("never-made"),
		TargetWebsite:      e.name("never-made-target"),
		ApplicationAliases: []string{"a", "b"},
		AppPools:           []string{e.name("never-made-1"), e.name("never-made-2")},
		AutoStartProviders: []string{e.name("never-made-provider")},
		Certificates:       []string{"0123456789ABCDEF0123456789ABCDEF01234567"},
	}
	for range 2 {
		removed, err := e.iis.RemoveTaskSite(ctx(t), args)
		must.NoError(t, err)
		must.SliceEmpty(t, removed.RemovedCertificates)
	}

	// Removing a site twice is fine too.
	dir := e.content(t, map[string]string{"index.html": "x"})
	port := testkit.FreePort(t)
	spec := site(e.name("twice"), e.name("twice"), dir, port)
	e.create(t, spec)
	e.remove(t, spec)
	e.remove(t, spec)
	e.nothingLeft(t, spec)
}

func testUnknownPool(t *testing.T, e *env) {
	missing := e.name("no-such-pool")
	_, err := e.iis.GetAppPool(ctx(t), missing)
	must.ErrorIs(t, err, ps.ErrNotFound)
	pools, err := e.iis.GetAppPools(ctx(t), missing)
	must.NoError(t, err)
	must.SliceEmpty(t, pools)
	_, err = e.iis.StartAppPool(ctx(t), missing)
	errorKindIs(t, err, ps.ErrNotFound, missing)
	_, err = e.iis.StopAppPool(ctx(t), missing, 0)
	errorKindIs(t, err, ps.ErrNotFound, missing)
	_, err = e.iis.RecycleAppPool(ctx(t), missing)
	errorKindIs(t, err, ps.ErrNotFound, missing)
	_, err = e.iis.GetWebsite(ctx(t), e.name("no-such-site"))
	errorKindIs(t, err, ps.ErrNotFound, e.name("no-such-site"))
}

func testFailedCommit(t *testing.T, e *env) {
	dir := e.content(t, map[string]string{"index.html": "committed"})
	name := e.name("commit")
	spec := site(name, name, dir, testkit.FreePort(t))
	restore := e.be.BreakNextCommit(t)
	_, err := e.iis.NewTaskSite(ctx(t), spec)
	restore()
	// Unavailable: the driver then removes the task's names itself and
	// may retry; the backend has already removed what it wrote.
	errorKindIs(t, err, ps.ErrUnavailable, "IIS configuration")
	e.nothingLeft(t, spec)

	// Nothing stands in the way of the same task afterwards.
	e.create(t, spec)
	must.EqOp(t, "committed", get(t, httpURL(spec.Bindings[0].Port, "/"), "").body)
}
