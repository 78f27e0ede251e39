package contract

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

func testHostRestart(t *testing.T, e *env) {
	name, port := e.poolSite(t, "restart", func(p *ps.AppPoolSpec) { p.StartMode = "AlwaysRunning" })
	pid := e.waitWorkers(t, name, 1)[0]

	e.be.CloseHost(t)
	// IIS is a service: the site serves while no plugin runs.
	must.EqOp(t, pid, pagePID(t, httpURL(port, "/pid.aspx")))
	e.iis = e.be.StartHost(t)

	ws, err := e.iis.GetWebsite(ctx(t), name)
	must.NoError(t, err)
	must.EqOp(t, ps.StateStarted, ws.State)
	must.Eq(t, []int{pid}, pids(e.appPool(t, name)))
}

func testManagedResources(t *testing.T, e *env) {
	dir := e.content(t, map[string]string{"index.html": "managed"})
	managed := e.name("mr")
	e.create(t, site(managed, managed, dir, testkit.FreePort(t)))
	other := "contract" + strings.TrimPrefix(e.prefix, "nomad-ct") + "-unmanaged"
	e.create(t, site(other, other, dir, testkit.FreePort(t)))

	res, err := e.iis.GetManagedResources(ctx(t))
	must.NoError(t, err)
	must.SliceContains(t, res.Websites, ps.ManagedResource{Name: managed, State: ps.StateStarted})
	must.SliceContains(t, res.AppPools, ps.ManagedResource{Name: managed, State: ps.StateStarted})
	for _, r := range append(res.Websites, res.AppPools...) {
		must.StrHasPrefix(t, "nomad-", strings.ToLower(r.Name))
	}
}

func testDirectoryAcl(t *testing.T, e *env) {
	dir := e.content(t, map[string]string{"index.html": "acl"})
	name := e.name("acl")
	e.create(t, site(name, name, dir, testkit.FreePort(t)))
	alloc := t.TempDir()
	for _, d := range []string{"alloc/data", "alloc/logs", "alloc/tmp", "web/local", "web/secrets", "web/tmp", "web/private"} {
		must.NoError(t, os.MkdirAll(filepath.Join(alloc, filepath.FromSlash(d)), 0o755))
	}
	args := &ps.TaskDirectoryAclArgs{AllocDir: alloc, TaskName: "web", Identities: []string{`IIS AppPool\` + name}, PermitIUSR: true}
	must.NoError(t, e.iis.SetTaskDirectoryAcl(ctx(t), args))

	missing := *args
	missing.AllocDir = filepath.Join(alloc, "missing")
	errorKindIs(t, e.iis.SetTaskDirectoryAcl(ctx(t), &missing), ps.ErrNotFound, "")

	noIdentity := *args
	noIdentity.Identities = nil
	errorKindIs(t, e.iis.SetTaskDirectoryAcl(ctx(t), &noIdentity), ps.ErrInvalidArgument, "identities")
}

func testHooks(t *testing.T, e *env) {
	exts, err := e.iis.GetExtensions(ctx(t))
	must.NoError(t, err)
	must.EqOp(t, e.extDir, exts.Directory)
	byName := map[string]ps.Extension{}
	for _, x := range exts.Extensions {
		byName[x.Name] = x
	}
	audit, gate := byName["audit"], byName["gate"]
	must.EqOp(t, "Loaded", audit.Status, must.Sprintf("extensions: %+v (want %s)", exts.Extensions, hookSpec))
	must.EqOp(t, "Loaded", gate.Status, must.Sprintf("extensions: %+v (want %s)", exts.Extensions, hookSpec))
	slices.Sort(audit.Hooks)
	must.Eq(t, []string{ps.HookPostStop, ps.HookPreStart}, audit.Hooks)
	must.Eq(t, []string{ps.HookPreStart}, gate.Hooks)

	hc := ps.HookContext{AllocID: "0b5e3d44-6a43-4a1e-9d0c-1f2d3c4b5a69", TaskName: "web", JobName: "shop", Namespace: "default", SiteName: e.name("hooks")}
	res, err := e.iis.InvokeHook(ctx(t), ps.HookPreStart, hc)
	must.NoError(t, err)
	outputs := map[string]string{}
	for _, r := range res.Runs {
		outputs[r.Extension] = r.Output
	}
	must.Eq(t, map[string]string{"audit": "PreStart web", "gate": "allowed web"}, outputs)

	res, err = e.iis.InvokeHook(ctx(t), ps.HookPostStop, hc)
	must.NoError(t, err)
	must.Eq(t, []ps.HookRun{{Extension: "audit", Output: "PostStop web"}}, res.Runs)

	res, err = e.iis.InvokeHook(ctx(t), ps.HookPostStart, hc)
	must.NoError(t, err)
	must.SliceEmpty(t, res.Runs)

	refused := hc
	refused.TaskName = "refused"
	_, err = e.iis.InvokeHook(ctx(t), ps.HookPreStart, refused)
	errorKindIs(t, err, ps.ErrInvalidArgument, "task refused is refused by policy")

	_, err = e.iis.InvokeHook(ctx(t), "BeforeLunch", hc)
	errorKindIs(t, err, ps.ErrInvalidArgument, "")
}

func testHookOutputEdges(t *testing.T, e *env) {
	hc := ps.HookContext{AllocID: "0b5e3d44-6a43-4a1e-9d0c-1f2d3c4b5a69", TaskName: "web", JobName: "shop", Namespace: "default", SiteName: e.name("edges")}
	res, err := e.iis.InvokeHook(ctx(t), ps.HookPreStop, hc)
	must.NoError(t, err)
	must.Eq(t, []ps.HookRun{{Extension: "bare", Output: "bare web"}, {Extension: "quiet", Output: ""}}, res.Runs)

	// The next calls are answered: no response was corrupted or lost.
	for range 3 {
		exts, err := e.iis.GetExtensions(ctx(t))
		must.NoError(t, err)
		must.Len(t, 4, exts.Extensions, must.Sprintf("want %s", hookSpec))
	}
}
