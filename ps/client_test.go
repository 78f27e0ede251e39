package ps_test

import (
	"context"
	"encoding/json"
	"sort"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/nomad-iis/nomad-iis/ps/internal/fakebackend"
)

// clientCase is one method of the typed client: what it must send and what
// the backend answers.
type clientCase struct {
	name   string
	op     ps.Op
	args   any // what the method must send, as JSON
	result any // the backend's canned answer for op
	call   func(ctx context.Context, iis *ps.IIS) (any, error)
	want   any // what the method must return
}

func clientCases() []clientCase {
	when := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	pools := []ps.AppPool{
		{Name: "nomad-a", State: ps.StateStarted, StartMode: "AlwaysRunning", WorkerProcesses: []ps.WorkerProcess{{ProcessID: 4242, StartTime: when, State: "Running"}}},
		{Name: "nomad-b", State: ps.StateStopped, WorkerProcesses: []ps.WorkerProcess{}},
	}
	spec := &ps.TaskSiteSpec{
		SiteName:       "nomad-a",
		DefaultAppPool: "nomad-a",
		AppPools:       []ps.AppPoolSpec{{Name: "nomad-a", Identity: "SpecificUser", Username: "svc", Password: "pw", EnvironmentVariables: []ps.EnvVar{{Name: "K", Value: "v"}}}},
		Applications:   []ps.ApplicationSpec{{Alias: "", PhysicalPath: `C:\alloc\local`, AppPool: "nomad-a"}},
		Bindings:       []ps.BindingSpec{{Protocol: "http", IPAddress: "*", Port: 8080}},
	}
	site := &ps.TaskSite{SiteName: "nomad-a", SiteID: 3, AppPools: []string{"nomad-a"}, Applications: []string{""}}
	removeArgs := &ps.RemoveTaskSiteArgs{SiteName: "nomad-a", AppPools: []string{"nomad-a"}, Certificates: []string{"AB12"}}
	removed := &ps.RemovedTaskSite{RemovedCertificates: []string{"AB12"}}
	website := &ps.Website{Name: "nomad-a", ID: 3, State: ps.StateStarted,
		Bindings:     []ps.Binding{{Protocol: "https", IPAddress: "*", Port: 443, Hostname: "ä.example", RequireSNI: true, CertificateThumbprint: "AB12"}},
		Applications: []ps.Application{{Path: "/", AppPool: "nomad-a", VirtualDirectories: []ps.VirtualDirectory{{Path: "/", PhysicalPath: `C:\x`}}}}}
	certArgs := &ps.ImportCertificateArgs{PfxPath: `C:\secrets\c.pfx`, Password: "pfx-pw"}
	cert := &ps.Certificate{Thumbprint: "AB12", Subject: "CN=x", NotAfter: when, Managed: true}
	acl := &ps.TaskDirectoryAclArgs{AllocDir: `C:\alloc`, TaskName: "web", Identities: []string{`IIS AppPool\nomad-a`}, PermitIUSR: true}
	hc := ps.HookContext{AllocID: "a1", TaskName: "web", JobName: "j", Namespace: "default", TaskDir: `C:\alloc\web`, SiteName: "nomad-a", AppPools: []string{"nomad-a"}}
	hook := &ps.HookResult{Runs: []ps.HookRun{{Extension: "audit.ps1", Output: "ok"}}}
	managed := &ps.ManagedResources{Websites: []ps.ManagedResource{{Name: "nomad-a", State: ps.StateStarted}}, AppPools: []ps.ManagedResource{}}
	exts := &ps.Extensions{Directory: `C:\ext`, Extensions: []ps.Extension{{Name: "audit", Path: `C:\ext\audit.ps1`, Status: "Loaded", Hooks: []string{ps.HookPreStart}}}}
	empty := struct{}{}
	switchArgs := &ps.SwitchApplicationVersionArgs{SiteName: "nomad-a", ApplicationPath: "/", VirtualDirectoryPath: "/",
		PhysicalPath: `C:\alloc\web\local\.site.versions\v2`, ExpectedPhysicalPath: `C:\alloc\web\local\site`, WarmupPath: "/health", WarmupTimeoutMs: 5000}
	switched := &ps.SwitchedApplicationVersion{AppPool: "nomad-a", PreviousPhysicalPath: switchArgs.ExpectedPhysicalPath,
		PhysicalPath: switchArgs.PhysicalPath, Mode: ps.SwitchOverlapped, WarmupStatus: 200}

	return []clientCase{
		{name: "TestConnection", op: ps.OpTestConnection, args: empty, result: ps.ConnectionInfo{Backend: "iis", ProcessID: 7},
			call: func(ctx context.Context, c *ps.IIS) (any, error) { return c.TestConnection(ctx) },
			want: &ps.ConnectionInfo{Backend: "iis", ProcessID: 7}},
		{name: "GetServerInfo", op: ps.OpGetServerInfo, args: empty, result: ps.ServerInfo{Backend: "iis", IISVersion: "10.0", W3SVCState: "Running", AspNetCoreModule: true},
			call: func(ctx context.Context, c *ps.IIS) (any, error) { return c.GetServerInfo(ctx) },
			want: &ps.ServerInfo{Backend: "iis", IISVersion: "10.0", W3SVCState: "Running", AspNetCoreModule: true}},
		{name: "NewTaskSite", op: ps.OpNewTaskSite, args: spec, result: site,
			call: func(ctx context.Context, c *ps.IIS) (any, error) { return c.NewTaskSite(ctx, spec) },
			want: site},
		{name: "RemoveTaskSite", op: ps.OpRemoveTaskSite, args: removeArgs, result: removed,
			call: func(ctx context.Context, c *ps.IIS) (any, error) { return c.RemoveTaskSite(ctx, removeArgs) },
			want: removed},
		{name: "GetWebsite", op: ps.OpGetWebsite, args: ps.NameArgs{Name: "nomad-a"}, result: website,
			call: func(ctx context.Context, c *ps.IIS) (any, error) { return c.GetWebsite(ctx, "nomad-a") },
			want: website},
		{name: "GetAppPools", op: ps.OpGetAppPool, args: ps.GetAppPoolArgs{Names: []string{"nomad-a", "nomad-b"}}, result: pools,
			call: func(ctx context.Context, c *ps.IIS) (any, error) { return c.GetAppPools(ctx, "nomad-a", "nomad-b") },
			want: pools},
		{name: "GetAppPool", op: ps.OpGetAppPool, args: ps.GetAppPoolArgs{Names: []string{"nomad-b"}}, result: pools,
			call: func(ctx context.Context, c *ps.IIS) (any, error) { return c.GetAppPool(ctx, "nomad-b") },
			want: &pools[1]},
		{name: "StartAppPool", op: ps.OpStartAppPool, args: ps.NameArgs{Name: "nomad-a"}, result: pools[0],
			call: func(ctx context.Context, c *ps.IIS) (any, error) { return c.StartAppPool(ctx, "nomad-a") },
			want: &pools[0]},
		{name: "StopAppPool", op: ps.OpStopAppPool, args: ps.StopAppPoolArgs{Name: "nomad-b", WaitMs: 5000}, result: pools[1],
			call: func(ctx context.Context, c *ps.IIS) (any, error) { return c.StopAppPool(ctx, "nomad-b", 5000) },
			want: &pools[1]},
		{name: "RecycleAppPool", op: ps.OpRestartAppPool, args: ps.NameArgs{Name: "nomad-a"}, result: pools[0],
			call: func(ctx context.Context, c *ps.IIS) (any, error) { return c.RecycleAppPool(ctx, "nomad-a") },
			want: &pools[0]},
		{name: "ImportCertificate", op: ps.OpImportCertificate, args: certArgs, result: cert,
			call: func(ctx context.Context, c *ps.IIS) (any, error) { return c.ImportCertificate(ctx, certArgs) },
			want: cert},
		{name: "RemoveCertificate", op: ps.OpRemoveCertificate, args: ps.RemoveCertificateArgs{Thumbprint: "AB12"}, result: ps.RemovedCertificate{InUseBy: []string{"s/https"}},
			call: func(ctx context.Context, c *ps.IIS) (any, error) { return c.RemoveCertificate(ctx, "AB12") },
			want: &ps.RemovedCertificate{InUseBy: []string{"s/https"}}},
		{name: "SetTaskDirectoryAcl", op: ps.OpSetTaskDirectoryAcl, args: acl, result: empty,
			call: func(ctx context.Context, c *ps.IIS) (any, error) { return nil, c.SetTaskDirectoryAcl(ctx, acl) },
			want: nil},
		{name: "GetManagedResources", op: ps.OpGetManagedResource, args: empty, result: managed,
			call: func(ctx context.Context, c *ps.IIS) (any, error) { return c.GetManagedResources(ctx) },
			want: managed},
		{name: "InvokeHook", op: ps.OpInvokeHook, args: ps.InvokeHookArgs{Hook: ps.HookPreStart, Context: hc}, result: hook,
			call: func(ctx context.Context, c *ps.IIS) (any, error) { return c.InvokeHook(ctx, ps.HookPreStart, hc) },
			want: hook},
		{name: "GetExtensions", op: ps.OpGetExtension, args: empty, result: exts,
			call: func(ctx context.Context, c *ps.IIS) (any, error) { return c.GetExtensions(ctx) },
			want: exts},
		{name: "SwitchApplicationVersion", op: ps.OpSwitchApplicationVersion, args: switchArgs, result: switched,
			call: func(ctx context.Context, c *ps.IIS) (any, error) { return c.SwitchApplicationVersion(ctx, switchArgs) },
			want: switched},
	}
}

// jsonValue decodes v's JSON form into plain maps and slices, to compare
// what was sent with what should have been.
func jsonValue(t *testing.T, v any) any {
	t.Helper()
	b, ok := v.(json.RawMessage)
	if !ok {
		var err error
		b, err = json.Marshal(v)
		must.NoError(t, err)
	}
	var out any
	must.NoError(t, json.Unmarshal(b, &out))
	return out
}

func TestIIS_Methods(t *testing.T) {
	t.Parallel()
	cases := clientCases()
	canned := map[ps.Op]any{}
	for _, tc := range cases {
		canned[tc.op] = tc.result
	}
	raw, err := json.Marshal(canned)
	must.NoError(t, err)
	f := newHost(t, fakebackend.ModeServe, func(c *ps.HostConfig) {
		c.Env = append(c.Env, fakebackend.EnvResults+"="+string(raw))
	})
	iis := ps.NewIIS(f.host)

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			got, err := tc.call(ctx, iis)
			must.NoError(t, err)
			must.Eq(t, jsonValue(t, tc.want), jsonValue(t, got))

			var sent fakebackend.Recorded
			must.NoError(t, f.host.Call(ctx, fakebackend.OpLastRequest, nil, &sent))
			must.Eq(t, tc.op, sent.Op)
			must.Eq(t, jsonValue(t, tc.args), jsonValue(t, sent.Args))
		})
	}

	t.Run("GetAppPool of a missing pool", func(t *testing.T) {
		_, err := iis.GetAppPool(testCtx(t), "nomad-missing")
		must.ErrorIs(t, err, ps.ErrNotFound)
		must.EqError(t, err, `GetAppPool: application pool "nomad-missing" does not exist`)
	})
}

func TestIIS_Methods_ErrorsPassThrough(t *testing.T) {
	t.Parallel()
	// Without canned results the fake refuses every contract operation but
	// TestConnection with InvalidArgument.
	f := newHost(t, fakebackend.ModeServe)
	iis := ps.NewIIS(f.host)
	for _, tc := range clientCases() {
		if tc.op == ps.OpTestConnection {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.call(testCtx(t), iis)
			must.ErrorIs(t, err, ps.ErrInvalidArgument)
			must.StrContains(t, err.Error(), string(tc.op)+": unknown operation")
			must.Nil(t, jsonValue(t, got))
		})
	}
}

func TestIIS_Methods_CoverOperations(t *testing.T) {
	t.Parallel()
	covered := map[ps.Op]bool{}
	for _, tc := range clientCases() {
		covered[tc.op] = true
	}
	var missing []string
	for _, info := range ps.Operations {
		if !covered[info.Name] {
			missing = append(missing, string(info.Name))
		}
	}
	sort.Strings(missing)
	must.SliceEmpty(t, missing, must.Sprint("operations without a typed client test"))
}
