package contract

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

// env is what every scenario gets: the backend, its client and the
// suite's name prefix.
type env struct {
	be     backend
	iis    *ps.IIS
	prefix string
	extDir string
}

// scenario is one row of the suite.
type scenario struct {
	name string
	run  func(t *testing.T, e *env)
}

// scenarios is the contract suite. Each row creates what it needs under
// names of its own and removes it when it ends.
var scenarios = []scenario{
	// Server
	{"connection and server info", testServerInfo},
	// Sites
	{"a site serves its files and logs each request", testSiteServesFiles},
	{"a new site gets the lowest unused id", testSiteIDs},
	{"applications on several pools are served by their own workers", testMultiPool},
	{"virtual directories serve their own folders", testVirtualDirectories},
	{"host headers select the site on a shared port", testHostHeaders},
	{"applications in a target website", testTargetWebsite},
	// Conflicts and bad input
	{"a duplicate site name is a conflict that changes nothing", testDuplicateSite},
	{"a duplicate pool name is a conflict that changes nothing", testDuplicatePool},
	{"a binding of another site is a conflict", testBindingOfAnotherSite},
	{"a port held by another process is a conflict", testPortOfAnotherProcess},
	{"bad input is refused and leaves nothing behind", testBadInput},
	{"a failed commit leaves nothing behind", testFailedCommit},
	// IIS's rules (ps/iisrules)
	{"two non-SNI https sites on one IP:port are a conflict", testNonSNIHTTPSOneIPPort},
	{"a binding on * overlaps a specific address", testWildcardAgainstSpecific},
	{"durations are held to IIS's granularity", testDurationGranularity},
	{"auto-start provider names are case-sensitive", testProviderNameCase},
	{"a task removes only the auto-start providers it registered", testProviderOwnership},
	{"removing what does not exist is not an error", testRemoveMissing},
	// Certificates
	{"https with a self-signed certificate", testHTTPSSelfSigned},
	{"https with a PFX certificate", testHTTPSPFX},
	{"https with PEM certificates and keys", testHTTPSPEM},
	{"https selects the certificate by SNI host name", testHTTPSSNI},
	{"a certificate is kept while another site uses it", testCertificateShared},
	{"a certificate installed by an administrator is never removed", testCertificateUnmanaged},
	{"a chain with an intermediate CA is served whole", testIntermediateChain},
	{"bad certificate sources are refused", testCertificateBadInput},
	// Pools
	{"an OnDemand pool starts its worker on the first request", testOnDemand},
	{"recycle, stop and start change worker PIDs and states", testLifecycle},
	{"a recycle without overlap replaces the worker", testRecycleNoOverlap},
	{"a web garden has a worker per process", testWebGarden},
	{"environment variables reach the workers", testEnvironment},
	{"an environment variable with an empty value is left out", testEmptyEnvironmentValue},
	{"a stopped HttpLevel pool answers 503", testStoppedHTTPLevel},
	{"a stopped TcpLevel pool drops connections", testStoppedTCPLevel},
	{"a killed worker is replaced on the next request", testKilledWorker},
	{"unknown pools are not found", testUnknownPool},
	// Zero-downtime switch
	{"a switch with an overlapped recycle drops no request", testSwitchOverlapped},
	{"a failed warm-up leaves the old version serving", testSwitchWarmup},
	{"a pool without overlap refuses the switch unless stop/start is asked for", testSwitchNoOverlap},
	{"bad switch input is refused and changes nothing", testSwitchBadInput},
	// Plugin side
	{"sites keep serving while the host restarts", testHostRestart},
	{"managed resources are the nomad- sites and pools", testManagedResources},
	{"task directory ACLs", testDirectoryAcl},
	{"admin extension hooks", testHooks},
	{"hook output without a newline, or none at all, keeps the protocol intact", testHookOutputEdges},
}

// TestContract runs every scenario against the selected backend, then
// checks that none of them left a site or pool behind.
func TestContract(t *testing.T) {
	be := selectBackend(t)
	e := &env{be: be, extDir: t.TempDir()}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	e.prefix = "nomad-ct" + hex.EncodeToString(b)
	be.WriteHooks(t, e.extDir)
	e.iis = be.Start(t, e.extDir)

	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) { sc.run(t, e) })
	}

	res, err := e.iis.GetManagedResources(ctx(t))
	must.NoError(t, err)
	for _, r := range append(res.Websites, res.AppPools...) {
		must.False(t, strings.HasPrefix(r.Name, e.prefix), must.Sprintf("%s was left behind", r.Name))
	}
}

// name is a site or pool name of the suite: nomad-ct<run>-<suffix>.
func (e *env) name(suffix string) string { return e.prefix + "-" + suffix }

// content writes a directory of files the web server can read.
func (e *env) content(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := content(t, files)
	e.be.PrepareContent(t, dir)
	return dir
}

// pool is a pool spec with the suite's defaults: LocalSystem, so that IIS
// workers can read the test's temporary directories.
func pool(name string) ps.AppPoolSpec {
	return ps.AppPoolSpec{Name: name, Identity: "LocalSystem"}
}

// site is a spec of one site with one pool, a root application on dir and
// an http binding on port.
func site(name, poolName, dir string, port int) *ps.TaskSiteSpec {
	return &ps.TaskSiteSpec{
		SiteName:     name,
		AppPools:     []ps.AppPoolSpec{pool(poolName)},
		Applications: []ps.ApplicationSpec{{Alias: "", PhysicalPath: dir, AppPool: poolName}},
		Bindings:     []ps.BindingSpec{{Protocol: "http", IPAddress: "127.0.0.1", Port: port}},
	}
}

// create makes a task site and removes it when the test ends.
func (e *env) create(t *testing.T, spec *ps.TaskSiteSpec) *ps.TaskSite {
	t.Helper()
	ts, err := e.iis.NewTaskSite(ctx(t), spec)
	must.NoError(t, err)
	t.Cleanup(func() { e.remove(t, spec) })
	return ts
}

// remove removes what spec created, with the certificates of its bindings.
func (e *env) remove(t *testing.T, spec *ps.TaskSiteSpec) *ps.RemovedTaskSite {
	t.Helper()
	args := &ps.RemoveTaskSiteArgs{SiteName: spec.SiteName, TargetWebsite: spec.TargetWebsite}
	for _, p := range spec.AppPools {
		args.AppPools = append(args.AppPools, p.Name)
	}
	if spec.TargetWebsite != "" {
		for _, a := range spec.Applications {
			args.ApplicationAliases = append(args.ApplicationAliases, a.Alias)
		}
	}
	for _, b := range spec.Bindings {
		if b.CertificateThumbprint != "" {
			args.Certificates = append(args.Certificates, b.CertificateThumbprint)
		}
	}
	removed, err := e.iis.RemoveTaskSite(ctx(t), args)
	must.NoError(t, err)
	return removed
}

// appPool reads one pool.
func (e *env) appPool(t *testing.T, name string) *ps.AppPool {
	t.Helper()
	p, err := e.iis.GetAppPool(ctx(t), name)
	must.NoError(t, err)
	return p
}

// pids lists the PIDs of a pool's running workers.
func pids(p *ps.AppPool) []int {
	var out []int
	for _, w := range p.WorkerProcesses {
		if w.State == "Running" {
			out = append(out, w.ProcessID)
		}
	}
	return out
}

// waitWorkers waits until a pool has n running workers and returns their PIDs.
func (e *env) waitWorkers(t *testing.T, name string, n int) []int {
	t.Helper()
	var got []int
	testkit.Eventually(t, name+" has "+itoa(int64(n))+" running workers", func() bool {
		got = pids(e.appPool(t, name))
		return len(got) == n
	})
	return got
}

// waitExited waits until a process has exited.
func waitExited(t *testing.T, pid int) {
	t.Helper()
	testkit.Eventually(t, "process "+itoa(int64(pid))+" exits", func() bool { return !pidAlive(pid) })
}
