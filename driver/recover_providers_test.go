//go:build !windows

package driver

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hashicorp/nomad/helper/uuid"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

// providerHCL is siteHCL with an auto-start provider the application uses.
const providerHCL = `config {
  application {
    path                        = "local"
    service_auto_start_provider = "DriverWarmup"
  }
  binding {
    type       = "http"
    port       = "http"
    ip_address = "127.0.0.1"
  }
  service_auto_start_provider {
    name = "DriverWarmup"
    type = "Driver.Warmup, Driver"
  }
}`

// providerRegistered reports whether the backend has an auto-start
// provider of that name: a probe site whose application names it is
// accepted (and removed again) only then.
func providerRegistered(t *testing.T, iis *ps.IIS, name string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	probe := "nomad-probe-" + uuid.Short()
	_, err := iis.NewTaskSite(ctx, &ps.TaskSiteSpec{
		SiteName:     probe,
		AppPools:     []ps.AppPoolSpec{{Name: probe}},
		Applications: []ps.ApplicationSpec{{PhysicalPath: t.TempDir(), AppPool: probe, ServiceAutoStartProvider: name}},
		Bindings:     []ps.BindingSpec{{Protocol: "http", IPAddress: "127.0.0.1", Port: testkit.FreePort(t)}},
	})
	if errors.Is(err, ps.ErrInvalidArgument) {
		return false
	}
	must.NoError(t, err)
	_, err = iis.RemoveTaskSite(ctx, &ps.RemoveTaskSiteArgs{SiteName: probe, AppPools: []string{probe}})
	must.NoError(t, err)
	return true
}

// persisted decodes the state a task handle carries.
func persisted(t *testing.T, handle *drivers.TaskHandle) TaskState {
	t.Helper()
	var s TaskState
	must.NoError(t, handle.GetDriverState(&s))
	return s
}

// A task removes the provider it registered; a provider registered before
// it is kept when it ends.
func TestIISDriver_AutoStartProvider_RemovesOnlyItsOwn(t *testing.T) {
	n := newSimNode(t)
	d, h := n.newHarness(t)

	first := newTask(t, h, "web", providerHCL, map[string]string{"local/index.html": "first"})
	must.Eq(t, []string{"DriverWarmup"}, persisted(t, startTask(t, h, first)).AutoStartProviders)

	// The second task finds the provider registered: it uses it and does
	// not take it over.
	second := newTask(t, h, "web", providerHCL, map[string]string{"local/index.html": "second"})
	must.SliceEmpty(t, persisted(t, startTask(t, h, second)).AutoStartProviders)

	must.NoError(t, h.DestroyTask(second.cfg.ID, true))
	must.True(t, providerRegistered(t, d.IIS(), "DriverWarmup"), must.Sprint("the provider the second task did not register stays"))
	must.NoError(t, h.DestroyTask(first.cfg.ID, true))
	must.False(t, providerRegistered(t, d.IIS(), "DriverWarmup"), must.Sprint("the first task removes the provider it registered"))
}

// A task started by a driver that wrote handle version 1 lists in its
// state the providers it registered and the ones it found; this driver
// cannot tell them apart and removes none of them.
func TestIISDriver_RecoverTask_Version1KeepsProviders(t *testing.T) {
	n := newSimNode(t)
	d1, h1 := n.newHarness(t)
	tt := newTask(t, h1, "web", providerHCL, map[string]string{"local/index.html": "old"})
	handle := startTask(t, h1, tt)
	d1.Shutdown()

	old := handle.Copy()
	old.Version = 1
	d2, h2 := n.newHarness(t)
	must.Eq(t, []string{"DriverWarmup"}, persisted(t, old).AutoStartProviders)
	must.NoError(t, h2.RecoverTask(old))
	rh, ok := d2.tasks.Get(tt.cfg.ID)
	must.True(t, ok)
	must.SliceEmpty(t, rh.state.AutoStartProviders)
	must.Eq(t, "old", mustGet(t, tt.url("/"), 200))

	must.NoError(t, h2.StopTask(tt.cfg.ID, 5*time.Second, ""))
	must.True(t, waitExit(t, h2, tt.cfg.ID).Successful())
	must.NoError(t, h2.DestroyTask(tt.cfg.ID, false))
	must.SliceEmpty(t, managed(t, d2.IIS(), tt.cfg.AllocID))
	must.True(t, providerRegistered(t, d2.IIS(), "DriverWarmup"), must.Sprint("a version 1 task leaves its providers registered"))

	// A handle of a version this driver does not know is refused.
	future := handle.Copy()
	future.Version = taskHandleVersion + 1
	must.ErrorContains(t, h2.RecoverTask(future), "this driver reads versions 1 to 2")
}
