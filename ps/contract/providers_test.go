package contract

import (
	"testing"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

// testProviderOwnership: a task removes only the auto-start providers it
// registered. A provider that exists before a task names it (the
// administrator's, registered here through a site that is removed again
// without it, so that no application names it) is used as it is: the
// task's result does not list it, asking for it with another type is a
// Conflict that changes nothing, and removing the task the way the driver
// does (with the providers its result listed) keeps it with its type. A
// provider the task registered is removed with the task.
func testProviderOwnership(t *testing.T, e *env) {
	dir := e.content(t, map[string]string{"index.html": "owner"})
	const adminType, taskType = "Contract.AdminWarmup, Contract", "Contract.TaskWarmup, Contract"
	admins, owns := e.prefix+"-Admins", e.prefix+"-Owns"
	spec := func(suffix, use string, register ...ps.AutoStartProviderSpec) *ps.TaskSiteSpec {
		n := e.name(suffix)
		s := site(n, n, dir, testkit.FreePort(t))
		s.AutoStartProviders = register
		s.Applications[0].ServiceAutoStartProvider = use
		return s
	}
	removeAsDriver := func(t *testing.T, s *ps.TaskSiteSpec, providers []string) {
		t.Helper()
		_, err := e.iis.RemoveTaskSite(ctx(t), &ps.RemoveTaskSiteArgs{SiteName: s.SiteName, AppPools: []string{s.AppPools[0].Name}, AutoStartProviders: providers})
		must.NoError(t, err)
	}

	// The administrator's provider: registered, named by no application.
	admin := spec("own-admin", admins, ps.AutoStartProviderSpec{Name: admins, Type: adminType})
	ts, err := e.iis.NewTaskSite(ctx(t), admin)
	must.NoError(t, err)
	must.Eq(t, []string{admins}, ts.AutoStartProviders)
	t.Cleanup(func() {
		_, err := e.iis.RemoveTaskSite(ctx(t), &ps.RemoveTaskSiteArgs{AutoStartProviders: []string{admins}})
		must.NoError(t, err)
	})
	removeAsDriver(t, admin, nil)

	// Another type for it is refused, and nothing is made.
	clash := spec("own-clash", admins, ps.AutoStartProviderSpec{Name: admins, Type: taskType})
	_, err = e.iis.NewTaskSite(ctx(t), clash)
	errorKindIs(t, err, ps.ErrConflict, admins)
	e.nothingLeft(t, clash)

	// The same type: used as it is and not listed; the task's own is listed.
	task := spec("own-task", admins, ps.AutoStartProviderSpec{Name: admins, Type: adminType}, ps.AutoStartProviderSpec{Name: owns, Type: taskType})
	ts, err = e.iis.NewTaskSite(ctx(t), task)
	must.NoError(t, err)
	must.Eq(t, []string{owns}, ts.AutoStartProviders)
	removeAsDriver(t, task, ts.AutoStartProviders)

	// The administrator's provider is still registered, with its type: an
	// application can name it, and asking for it with that type is no
	// conflict and registers nothing.
	probe := spec("own-probe", admins, ps.AutoStartProviderSpec{Name: admins, Type: adminType})
	must.SliceEmpty(t, e.create(t, probe).AutoStartProviders)
	// The task's own provider went with the task.
	gone := spec("own-gone", owns)
	_, err = e.iis.NewTaskSite(ctx(t), gone)
	errorKindIs(t, err, ps.ErrInvalidArgument, "serviceAutoStartProvider")
	e.nothingLeft(t, gone)
}
