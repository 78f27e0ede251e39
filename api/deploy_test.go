package api

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/nomad-iis/nomad-iis/ps"
)

// release is a ZIP of one page naming n.
func release(n string) []byte {
	return testkit.MakeZip(testkit.ZipEntry{Name: "index.html", Body: "<h1>release " + n + "</h1>"}, testkit.ZipEntry{Name: "css/site.css", Body: "/* " + n + " */"})
}

// deploy sends PUT …/deploy with query and archive; it returns the status
// and the decoded result (zero unless 200) and the raw body.
func (s *simEnv) deploy(route, query string, archive []byte) (int, deployResult, string) {
	s.t.Helper()
	resp, out := s.do("PUT", taskURL(route+query), bytes.NewReader(archive), "Content-Type", "application/zip")
	var res deployResult
	if resp.StatusCode == 200 {
		must.NoError(s.t, json.Unmarshal(out, &res))
	}
	return resp.StatusCode, res, string(out)
}

// storeDir is the version store of the site's local/ folder.
func (s *simEnv) storeDir() string { return filepath.Join(s.task.TaskDir, ".local.versions") }

func (s *simEnv) versionDirs() []string {
	s.t.Helper()
	entries, err := os.ReadDir(s.storeDir())
	if os.IsNotExist(err) {
		return nil
	}
	must.NoError(s.t, err)
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// waitWorker waits until the task's pool has a worker process.
func (s *simEnv) waitWorker() {
	s.t.Helper()
	testkit.Eventually(s.t, "a worker process", func() bool {
		st := s.status()
		return st.DefaultApplicationPool != nil && len(st.DefaultApplicationPool.WorkerProcesses) > 0
	})
}

func TestDeploy_SwitchRollbackAndBound(t *testing.T) {
	s := newSimEnv(t, "", func(c *Config) { c.DeployKeepVersions = 2 })
	must.Eq(t, []deploymentStatus{}, s.status().Deployments, must.Sprint("nothing deployed yet"))
	s.waitWorker()

	code, res, out := s.deploy("/deploy", "", release("A"))
	must.Eq(t, 200, code, must.Sprint(out))
	must.Eq(t, "v1", res.Version.ID)
	must.Eq(t, "initial", res.PreviousVersion)
	must.Eq(t, ps.SwitchOverlapped, res.Mode)
	must.Eq(t, "/", res.Application)
	must.Eq(t, "/", res.VirtualDirectory)
	must.Eq(t, ".local.versions/v1", res.Version.Path)
	must.Positive(t, res.Version.Bytes)
	must.Eq(t, 2, res.Version.Files)
	_, body := s.site("/")
	must.StrContains(t, body, "release A")
	page, err := os.ReadFile(filepath.Join(s.task.TaskDir, "local", "index.html"))
	must.NoError(t, err)
	must.StrContains(t, string(page), "v1", must.Sprint("the job's own folder is left as it was"))

	for _, n := range []string{"B", "C", "D"} {
		code, res, out = s.deploy("/deploy", "", release(n))
		must.Eq(t, 200, code, must.Sprint(out))
		_, body = s.site("/")
		must.StrContains(t, body, "release "+n)
	}
	// v4 is current; v3 and v2 are kept (the bound is 2); v1 was removed
	// after the switch; the job's folder is always kept.
	must.Eq(t, "v4", res.Version.ID)
	must.Eq(t, []string{"initial", "v2", "v3", "v4"}, res.KeptVersions)
	must.Eq(t, []string{"v1"}, res.RemovedVersions)
	must.Eq(t, []string{"v2", "v3", "v4"}, s.versionDirs())

	st := s.status()
	must.SliceLen(t, 1, st.Deployments)
	dep := st.Deployments[0]
	must.Eq(t, "v4", dep.Current.ID)
	must.Positive(t, dep.Current.Bytes)
	must.False(t, dep.Current.CreatedAt.IsZero())
	var kept []string
	for _, k := range dep.Kept {
		kept = append(kept, k.ID)
	}
	must.Eq(t, []string{"initial", "v2", "v3"}, kept)

	// Rollback: to the newest earlier version, then to a named one.
	code, res, out = s.deploy("/deploy/rollback", "", nil)
	must.Eq(t, 200, code, must.Sprint(out))
	must.Eq(t, "v3", res.Version.ID)
	must.Eq(t, "v4", res.PreviousVersion)
	must.Eq(t, ps.SwitchOverlapped, res.Mode)
	_, body = s.site("/")
	must.StrContains(t, body, "release C")
	code, res, out = s.deploy("/deploy/rollback", "?version=initial", nil)
	must.Eq(t, 200, code, must.Sprint(out))
	_, body = s.site("/")
	must.StrContains(t, body, "v1")
	must.Eq(t, "initial", s.status().Deployments[0].Current.ID)

	code, _, out = s.deploy("/deploy/rollback", "?version=initial", nil)
	must.Eq(t, 409, code, must.Sprint(out))
	must.StrContains(t, out, "already the current version")
	code, _, out = s.deploy("/deploy/rollback", "?version=v1", nil)
	must.Eq(t, 404, code, must.Sprint(out))
	must.StrContains(t, out, "kept: initial, v3, v4", must.Sprint("the switch to initial removed v2, beyond the bound"))

	events := strings.Join(s.reg.Events(), "\n")
	must.StrContains(t, events, "deployed version v1 to /")
	must.StrContains(t, events, "rolled / back to version v3")
}

func TestDeploy_FailedWarmupKeepsTheOldVersion(t *testing.T) {
	s := newSimEnv(t, "")
	ok := testkit.MakeZip(testkit.ZipEntry{Name: "index.html", Body: "<h1>release OK</h1>"}, testkit.ZipEntry{Name: "health.html", Body: "ok"})
	code, res, out := s.deploy("/deploy", "?warmup=/health.html&warmupTimeout=5s", ok)
	must.Eq(t, 200, code, must.Sprint(out))
	must.Eq(t, 200, res.WarmupStatus)

	code, _, out = s.deploy("/deploy", "?warmup=/health.html&warmupTimeout=1s", release("broken"))
	must.Eq(t, 422, code, must.Sprint(out))
	must.StrContains(t, out, "failed its warm-up")
	must.StrContains(t, out, "404")
	_, body := s.site("/")
	must.StrContains(t, body, "release OK")
	must.Eq(t, []string{"v1"}, s.versionDirs(), must.Sprint("the new version's folder is removed"))
	must.Eq(t, "v1", s.status().Deployments[0].Current.ID)
}

func TestDeploy_NoOverlapRefusedUnlessRestartAllowed(t *testing.T) {
	yes := true
	s := newSimEnvWith(t, "", func(spec *ps.TaskSiteSpec) { spec.AppPools[0].DisallowOverlappingRotation = &yes })
	code, _, out := s.deploy("/deploy", "", release("A"))
	must.Eq(t, 409, code, must.Sprint(out))
	must.StrContains(t, out, "disallowOverlappingRotation")
	must.SliceEmpty(t, s.versionDirs())
	_, body := s.site("/")
	must.StrContains(t, body, "v1")

	code, res, out := s.deploy("/deploy", "?allowRestart=true", release("A"))
	must.Eq(t, 200, code, must.Sprint(out))
	must.Eq(t, ps.SwitchStopStart, res.Mode)
	testkit.Eventually(t, "the site serves release A", func() bool { _, b := s.site("/"); return strings.Contains(b, "release A") })
	must.Eq(t, "Started", s.status().DefaultApplicationPool.Status)
}

func TestDeploy_BadInputChangesNothing(t *testing.T) {
	s := newSimEnv(t, "")
	cases := []struct {
		name, route, query, contentType string
		body                            []byte
		status                          int
		mentions                        string
	}{
		{"warm-up path", "/deploy", "?warmup=health", "application/zip", release("X"), 400, "warmup"},
		{"warm-up timeout", "/deploy", "?warmup=/&warmupTimeout=forever", "application/zip", release("X"), 400, "warmupTimeout"},
		{"warm-up timeout too long", "/deploy", "?warmup=/&warmupTimeout=1h", "application/zip", release("X"), 400, "warmupTimeout"},
		{"allowRestart", "/deploy", "?allowRestart=maybe", "application/zip", release("X"), 400, "allowRestart"},
		{"unknown application", "/deploy", "?app=shop", "application/zip", release("X"), 404, "shop"},
		{"unknown directory", "/deploy", "?vdir=media", "application/zip", release("X"), 404, "media"},
		{"not a ZIP type", "/deploy", "", "application/octet-stream", release("X"), 415, "application/zip"},
		{"not a ZIP", "/deploy", "", "application/zip", []byte("not an archive"), 400, "not a ZIP"},
		{"zip slip", "/deploy", "", "application/zip", testkit.MakeZip(testkit.ZipEntry{Name: "../evil.html", Body: "x"}), 400, ""},
		{"nothing to roll back to", "/deploy/rollback", "", "", nil, 409, "no earlier version"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			header := []string{}
			if tc.contentType != "" {
				header = []string{"Content-Type", tc.contentType}
			}
			resp, out := s.do("PUT", taskURL(tc.route+tc.query), bytes.NewReader(tc.body), header...)
			must.Eq(t, tc.status, resp.StatusCode, must.Sprint(string(out)))
			must.StrContains(t, string(out), tc.mentions)
			_, body := s.site("/")
			must.StrContains(t, body, "v1")
			must.SliceEmpty(t, s.versionDirs())
		})
	}
}

func TestDeploy_EachApplicationAndDirectoryHasItsOwnVersions(t *testing.T) {
	var shop, media string
	s := newSimEnvWith(t, "", func(spec *ps.TaskSiteSpec) {
		root := spec.Applications[0].PhysicalPath // <task>/local
		shop, media = filepath.Join(root, "shop"), filepath.Join(root, "media")
		for _, d := range []string{shop, media} {
			must.NoError(t, os.MkdirAll(d, 0o755))
			must.NoError(t, os.WriteFile(filepath.Join(d, "index.html"), []byte("<h1>job's "+filepath.Base(d)+"</h1>"), 0o644))
		}
		spec.Applications = append(spec.Applications, ps.ApplicationSpec{Alias: "shop", PhysicalPath: shop, AppPool: spec.Applications[0].AppPool,
			VirtualDirectories: []ps.VirtualDirectorySpec{{Alias: "media", PhysicalPath: media}}})
	})
	s.waitWorker()

	code, _, out := s.deploy("/deploy", "?app=shop", release("shop 2"))
	must.Eq(t, 200, code, must.Sprint(out))
	code, _, out = s.deploy("/deploy", "?app=shop&vdir=media", release("media 2"))
	must.Eq(t, 200, code, must.Sprint(out))

	_, body := s.site("/")
	must.StrContains(t, body, "v1", must.Sprint("the root application is untouched"))
	_, body = s.site("/shop/")
	must.StrContains(t, body, "release shop 2")
	_, body = s.site("/shop/media/")
	must.StrContains(t, body, "release media 2")
	for _, d := range []string{"local/.shop.versions/v1", "local/.media.versions/v1"} {
		_, err := os.Stat(filepath.Join(s.task.TaskDir, filepath.FromSlash(d), "index.html"))
		must.NoError(t, err)
	}

	deps := s.status().Deployments
	must.SliceLen(t, 2, deps)
	got := map[string]string{}
	for _, d := range deps {
		got[d.Application+" "+d.VirtualDirectory] = d.Current.ID
	}
	must.Eq(t, map[string]string{"/shop /": "v1", "/shop /media": "v1"}, got)

	// Rolling the shop back leaves its media directory where it is.
	code, _, out = s.deploy("/deploy/rollback", "?app=shop", nil)
	must.Eq(t, 200, code, must.Sprint(out))
	_, body = s.site("/shop/")
	must.StrContains(t, body, "job's shop")
	_, body = s.site("/shop/media/")
	must.StrContains(t, body, "release media 2")
}
