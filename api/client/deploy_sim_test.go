package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/api"
	"github.com/nomad-iis/nomad-iis/api/client"
	"github.com/nomad-iis/nomad-iis/iissim/simtest"
	"github.com/nomad-iis/nomad-iis/internal/task"
	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/nomad-iis/nomad-iis/ps"
)

func TestMain(m *testing.M) {
	simtest.MaybeRunSim()
	os.Exit(m.Run())
}

// simSite is the Management API in front of iissim, with one task whose
// site serves its local/ folder on sitePort.
type simSite struct {
	api      *httptest.Server
	task     client.Task
	taskDir  string
	sitePort int
}

func newSimSite(t *testing.T) *simSite {
	t.Helper()
	return newSimSiteWith(t, nil)
}

// newSimSiteWith is newSimSite with the pool's spec changed by tune (when
// not nil) before the site is created.
func newSimSiteWith(t *testing.T, tune func(*ps.AppPoolSpec)) *simSite {
	t.Helper()
	sim := simtest.Start(t)
	taskDir := filepath.Join(t.TempDir(), "app")
	must.NoError(t, os.MkdirAll(filepath.Join(taskDir, "local"), 0o755))
	must.NoError(t, os.WriteFile(filepath.Join(taskDir, "local", "index.html"), []byte("<h1>job folder</h1>"), 0o644))
	port := testkit.FreePort(t)
	name := "nomad-clienttest-" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	spec := &ps.TaskSiteSpec{
		SiteName:     name,
		AppPools:     []ps.AppPoolSpec{{Name: name, Identity: "ApplicationPoolIdentity", StartMode: "AlwaysRunning"}},
		Applications: []ps.ApplicationSpec{{Alias: "", PhysicalPath: filepath.Join(taskDir, "local"), AppPool: name}},
		Bindings:     []ps.BindingSpec{{Protocol: "http", IPAddress: "*", Port: port}},
	}
	if tune != nil {
		tune(&spec.AppPools[0])
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := sim.IIS.NewTaskSite(ctx, spec)
	must.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, _ = sim.IIS.RemoveTaskSite(ctx, &ps.RemoveTaskSiteArgs{SiteName: name, AppPools: []string{name}})
	})
	info := task.Info{TaskID: "a1/web", AllocID: "a1b2c3d4-0000-0000-0000-000000000002", TaskName: "web", Namespace: "default",
		JobID: "shop", JobName: "shop", TaskDir: taskDir, Running: true, SiteName: name, OwnsSite: true,
		AppPools: map[string]string{"default": name}, DefaultAppPool: "default", Bindings: spec.Bindings}
	s, err := api.New(api.Config{Port: 1, APIKeys: []string{"key-1"}, StatusCacheTTL: time.Millisecond, PoolStopTimeout: 30 * time.Second},
		testkit.NewRegistry(info), sim.IIS, hclog.NewNullLogger())
	must.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &simSite{api: srv, task: client.Task{AllocID: info.AllocID, TaskName: "web"}, taskDir: taskDir, sitePort: port}
}

// page is the site's answer to GET /.
func (s *simSite) page(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", s.sitePort))
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	must.NoError(t, err)
	return string(b)
}

// rawStatus is GET …/status decoded strictly into the client's type: a
// field the API sends and the client does not know fails.
func (s *simSite) rawStatus(t *testing.T) client.Status {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.api.URL+"/api/v1/allocs/"+s.task.AllocID+"/web/status", nil)
	must.NoError(t, err)
	req.Header.Set("X-Api-Key", "key-1")
	resp, err := http.DefaultClient.Do(req)
	must.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	must.NoError(t, err)
	must.EqOp(t, http.StatusOK, resp.StatusCode, must.Sprint(string(body)))
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var st client.Status
	must.NoError(t, dec.Decode(&st), must.Sprint(string(body)))
	return st
}

func TestDeployAndRollbackAgainstTheAPIOnIISSim(t *testing.T) {
	t.Parallel()
	s := newSimSite(t)
	ctx := context.Background()
	c, err := client.New(client.Config{BaseURL: s.api.URL, APIKey: "key-1", MaxRetries: -1})
	must.NoError(t, err)
	testkit.Eventually(t, "the site to serve the job's folder", func() bool { return strings.Contains(s.page(t), "job folder") })
	st := s.rawStatus(t)
	must.Eq(t, []client.Deployment{}, st.Deployments, must.Sprint("nothing deployed yet"))

	release := t.TempDir()
	must.NoError(t, os.WriteFile(filepath.Join(release, "index.html"), []byte("<h1>release 2</h1>"), 0o644))
	must.NoError(t, os.WriteFile(filepath.Join(release, "health.html"), []byte("ok"), 0o644))
	var sent int64
	res, err := c.Deploy(ctx, s.task, client.DirSource{Dir: release}, client.DeployOptions{
		DeployTarget: client.DeployTarget{Warmup: "/health.html", WarmupTimeout: 20 * time.Second},
		Progress:     func(done, _ int64) { sent = done },
	})
	must.NoError(t, err)
	must.Positive(t, sent)
	must.EqOp(t, "/", res.Application)
	must.EqOp(t, "/", res.VirtualDirectory)
	must.EqOp(t, "v1", res.Version.ID)
	must.EqOp(t, "initial", res.PreviousVersion)
	must.EqOp(t, 2, res.Version.Files)
	must.EqOp(t, int64(len("<h1>release 2</h1>")+2), res.Version.Bytes)
	must.EqOp(t, ".local.versions/v1", res.Version.Path)
	must.EqOp(t, ps.SwitchOverlapped, res.Mode)
	must.EqOp(t, http.StatusOK, res.WarmupStatus)
	must.Eq(t, []string{"initial", "v1"}, res.KeptVersions)
	must.Eq(t, []string{}, res.RemovedVersions)
	must.StrContains(t, s.page(t), "release 2")

	// Status, through the client and strictly decoded, names the version.
	st = s.rawStatus(t)
	must.SliceLen(t, 1, st.Deployments)
	must.EqOp(t, "v1", st.Deployments[0].Current.ID)
	must.EqOp(t, 2, st.Deployments[0].Current.Files)
	must.SliceLen(t, 1, st.Deployments[0].Kept)
	must.EqOp(t, "initial", st.Deployments[0].Kept[0].ID)
	viaClient, err := c.Status(ctx, s.task)
	must.NoError(t, err)
	must.Eq(t, st.Deployments, viaClient.Deployments)

	// A refused warm-up is the API's 422; the version serving stays.
	_, err = c.Deploy(ctx, s.task, client.DirSource{Dir: release}, client.DeployOptions{
		DeployTarget: client.DeployTarget{Warmup: "/missing.html", WarmupTimeout: 2 * time.Second}})
	must.True(t, client.IsStatus(err, http.StatusUnprocessableEntity), must.Sprint(err))
	must.StrContains(t, s.page(t), "release 2")

	// Rollback to the version before: the job's folder.
	res, err = c.Rollback(ctx, s.task, client.RollbackOptions{})
	must.NoError(t, err)
	must.EqOp(t, "initial", res.Version.ID)
	must.EqOp(t, "v1", res.PreviousVersion)
	must.StrContains(t, s.page(t), "job folder")

	// A version that is not kept is the API's 404.
	_, err = c.Rollback(ctx, s.task, client.RollbackOptions{Version: "v9"})
	must.True(t, client.IsStatus(err, http.StatusNotFound), must.Sprint(err))
	must.StrContains(t, err.Error(), "kept: initial, v1")
}

// A pool that cannot overlap its workers is refused with the API's 409,
// unless AllowRestart asks for the stop/start switch.
func TestDeployAllowRestartAgainstTheAPIOnIISSim(t *testing.T) {
	t.Parallel()
	noOverlap := true
	s := newSimSiteWith(t, func(p *ps.AppPoolSpec) { p.DisallowOverlappingRotation = &noOverlap })
	ctx := context.Background()
	c, err := client.New(client.Config{BaseURL: s.api.URL, APIKey: "key-1", MaxRetries: -1})
	must.NoError(t, err)
	testkit.Eventually(t, "the site to serve the job's folder", func() bool { return strings.Contains(s.page(t), "job folder") })
	release := t.TempDir()
	must.NoError(t, os.WriteFile(filepath.Join(release, "index.html"), []byte("<h1>release 2</h1>"), 0o644))

	_, err = c.Deploy(ctx, s.task, client.DirSource{Dir: release}, client.DeployOptions{})
	must.True(t, client.IsStatus(err, http.StatusConflict), must.Sprint(err))
	must.StrContains(t, err.Error(), "disallowOverlappingRotation")
	must.StrContains(t, s.page(t), "job folder")

	res, err := c.Deploy(ctx, s.task, client.DirSource{Dir: release}, client.DeployOptions{DeployTarget: client.DeployTarget{AllowRestart: true}})
	must.NoError(t, err)
	must.EqOp(t, ps.SwitchStopStart, res.Mode)
	testkit.Eventually(t, "the site to serve release 2", func() bool { return strings.Contains(s.page(t), "release 2") })

	res, err = c.Rollback(ctx, s.task, client.RollbackOptions{DeployTarget: client.DeployTarget{AllowRestart: true}})
	must.NoError(t, err)
	must.EqOp(t, ps.SwitchStopStart, res.Mode)
	must.EqOp(t, "initial", res.Version.ID)
	testkit.Eventually(t, "the site to serve the job's folder again", func() bool { return strings.Contains(s.page(t), "job folder") })
}
