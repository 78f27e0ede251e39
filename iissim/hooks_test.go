//go:build !windows

package iissim

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

func writeHook(t *testing.T, dir, name, body string, mode os.FileMode) {
	t.Helper()
	must.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), mode))
}

func TestExtensions_List(t *testing.T) {
	dir := t.TempDir()
	writeHook(t, dir, "a-audit.hook", "#!/bin/sh\n[ \"$1\" = Hooks ] && echo 'prestart PostStop poststop'\n", 0o755)
	writeHook(t, dir, "b-plain.hook", "#!/bin/sh\necho PreStart\n", 0o644)
	writeHook(t, dir, "c-unknown.hook", "#!/bin/sh\necho PreStart Lunch\n", 0o755)
	writeHook(t, dir, "d-broken.hook", "#!/bin/sh\necho 'cannot load config' >&2\nexit 4\n", 0o755)
	writeHook(t, dir, "e-script.ps1", "function PreStart {}\n", 0o644)
	writeHook(t, dir, "README.md", "docs\n", 0o644)
	must.NoError(t, os.Mkdir(filepath.Join(dir, "sub.hook"), 0o755))

	got := (&extensions{dir: dir}).list()
	must.EqOp(t, dir, got.Directory)
	byName := map[string]ps.Extension{}
	for _, x := range got.Extensions {
		byName[x.Name] = x
	}
	must.MapLen(t, 5, byName)
	must.EqOp(t, "Loaded", byName["a-audit"].Status)
	must.Eq(t, []string{"PreStart", "PostStop"}, byName["a-audit"].Hooks)
	must.EqOp(t, filepath.Join(dir, "a-audit.hook"), byName["a-audit"].Path)
	must.EqOp(t, "Failed", byName["b-plain"].Status)
	must.StrContains(t, byName["b-plain"].Error, "not executable")
	must.EqOp(t, "Failed", byName["c-unknown"].Status)
	must.StrContains(t, byName["c-unknown"].Error, `"Lunch"`)
	must.EqOp(t, "Failed", byName["d-broken"].Status)
	must.EqOp(t, "cannot load config", byName["d-broken"].Error)
	must.EqOp(t, "Skipped", byName["e-script"].Status)
	must.StrContains(t, byName["e-script"].Error, "powershell backend")

	none := (&extensions{}).list()
	must.SliceEmpty(t, none.Extensions)
	missing := (&extensions{dir: filepath.Join(dir, "missing")}).list()
	must.SliceEmpty(t, missing.Extensions)
}

func TestExtensions_Invoke(t *testing.T) {
	dir := t.TempDir()
	writeHook(t, dir, "1-first.hook", `#!/bin/sh
if [ "$1" = Hooks ]; then echo PreStart PreStop; exit 0; fi
printf '%s %s ' "$1" "$IISSIM_HOOK"; cat; echo " state=$IISSIM_STATE_DIR"
`, 0o755)
	writeHook(t, dir, "2-fails.hook", `#!/bin/sh
if [ "$1" = Hooks ]; then echo PreStop; exit 0; fi
echo "  the site is still draining  " >&2
exit 1
`, 0o755)
	writeHook(t, dir, "3-silent.hook", `#!/bin/sh
if [ "$1" = Hooks ]; then echo PreStop; exit 0; fi
exit 7
`, 0o755)
	e := &extensions{dir: dir, stateDir: "/state"}

	res, err := e.invoke(&ps.InvokeHookArgs{Hook: "prestart", Context: ps.HookContext{TaskName: "web", AppPools: []string{"p"}}})
	must.NoError(t, err)
	must.Len(t, 1, res.Runs)
	must.EqOp(t, "1-first", res.Runs[0].Extension)
	must.StrHasPrefix(t, "PreStart PreStart {", res.Runs[0].Output)
	must.StrContains(t, res.Runs[0].Output, `"taskName":"web"`)
	must.StrContains(t, res.Runs[0].Output, `"appPools":["p"]`)
	must.StrHasSuffix(t, "state=/state", res.Runs[0].Output)

	_, err = e.invoke(&ps.InvokeHookArgs{Hook: ps.HookPreStop})
	must.EqOp(t, ps.KindInvalidArgument, errorKind(err))
	must.EqOp(t, "extension 2-fails, hook PreStop: the site is still draining", err.Error())

	must.NoError(t, os.Remove(filepath.Join(dir, "2-fails.hook")))
	_, err = e.invoke(&ps.InvokeHookArgs{Hook: ps.HookPreStop})
	must.EqOp(t, ps.KindInvalidArgument, errorKind(err))
	must.ErrorContains(t, err, "exit status 7")

	res, err = e.invoke(&ps.InvokeHookArgs{Hook: ps.HookPostStart})
	must.NoError(t, err)
	must.SliceEmpty(t, res.Runs)

	_, err = e.invoke(&ps.InvokeHookArgs{Hook: "Whenever"})
	must.EqOp(t, ps.KindInvalidArgument, errorKind(err))
}
