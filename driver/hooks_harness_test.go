//go:build !windows

package driver

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

// withHooks gives the node an extensions directory with two iissim hook
// executables: "record" writes each hook's context to <marks>/<Hook>.json;
// "freeze" fails PreStart for a task named "frozen" with a message.
func (n *simNode) withHooks(t *testing.T) (marks string) {
	t.Helper()
	n.extDir = t.TempDir()
	marks = t.TempDir()
	record := `#!/bin/sh
case "$1" in
Hooks) echo PreStart PostStart PreStop PostStop ;;
*) cat > "` + marks + `/$1.json" ;;
esac
`
	freeze := `#!/bin/sh
case "$1" in
Hooks) echo PreStart ;;
PreStart)
  if grep -q '"taskName":"frozen"' ; then
    echo "deployments of frozen are paused by the operators" >&2
    exit 3
  fi ;;
esac
`
	must.NoError(t, os.WriteFile(filepath.Join(n.extDir, "record.hook"), []byte(record), 0o755))
	must.NoError(t, os.WriteFile(filepath.Join(n.extDir, "freeze.hook"), []byte(freeze), 0o755))
	return marks
}

// hookMark reads the context a hook was given, nil when it did not run.
func hookMark(t *testing.T, marks, hook string) *ps.HookContext {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(marks, hook+".json"))
	if err != nil {
		return nil
	}
	var hc ps.HookContext
	must.NoError(t, json.Unmarshal(b, &hc))
	return &hc
}

func TestIISDriver_Hooks(t *testing.T) {
	n := newSimNode(t)
	marks := n.withHooks(t)
	_, h := n.newHarness(t)
	tt := newTask(t, h, "web", siteHCL, nil)
	startTask(t, h, tt)
	site := "nomad-" + tt.cfg.AllocID + "-web"

	for _, hook := range []string{ps.HookPreStart, ps.HookPostStart} {
		hc := hookMark(t, marks, hook)
		must.NotNil(t, hc, must.Sprintf("%s did not run", hook))
		must.Eq(t, tt.cfg.AllocID, hc.AllocID)
		must.Eq(t, "web", hc.TaskName)
		must.Eq(t, "site", hc.JobName)
		must.Eq(t, "default", hc.Namespace)
		must.Eq(t, tt.taskDir(), hc.TaskDir)
		must.Eq(t, site, hc.SiteName)
		must.Eq(t, []string{site}, hc.AppPools)
	}
	must.Nil(t, hookMark(t, marks, ps.HookPreStop))

	must.NoError(t, h.StopTask(tt.cfg.ID, 5*time.Second, ""))
	must.NotNil(t, hookMark(t, marks, ps.HookPreStop))
	must.Nil(t, hookMark(t, marks, ps.HookPostStop))
	must.NoError(t, h.DestroyTask(tt.cfg.ID, false))
	must.NotNil(t, hookMark(t, marks, ps.HookPostStop))
}

func TestIISDriver_Hooks_FailingPreStart(t *testing.T) {
	n := newSimNode(t)
	marks := n.withHooks(t)
	d, h := n.newHarness(t)
	tt := newTask(t, h, "frozen", siteHCL, nil)
	_, _, err := h.StartTask(tt.cfg)
	must.ErrorContains(t, err, "admin extension hook PreStart failed")
	must.ErrorContains(t, err, "deployments of frozen are paused by the operators")
	must.SliceEmpty(t, managed(t, d.IIS(), tt.cfg.AllocID))
	must.Nil(t, hookMark(t, marks, ps.HookPostStart))
}
