package driver

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/shoenig/test/must"
)

func TestPrepareDirectories_Placeholder(t *testing.T) {
	taskDir := t.TempDir()
	placeholder := t.TempDir()
	must.NoError(t, os.WriteFile(filepath.Join(placeholder, "iisstart.htm"), []byte("start page"), 0o644))
	must.NoError(t, os.MkdirAll(filepath.Join(placeholder, "img"), 0o755))
	must.NoError(t, os.WriteFile(filepath.Join(placeholder, "img", "logo.png"), []byte("png"), 0o644))

	empty := filepath.Join(taskDir, "local", "empty")
	missing := filepath.Join(taskDir, "local", "missing")
	full := filepath.Join(taskDir, "local", "full")
	must.NoError(t, os.MkdirAll(empty, 0o755))
	must.NoError(t, os.MkdirAll(full, 0o755))
	must.NoError(t, os.WriteFile(filepath.Join(full, "index.html"), []byte("app"), 0o644))

	plan := &taskPlan{contentDirs: []string{empty, missing, full}}
	must.NoError(t, prepareDirectories(taskDir, plan, placeholder))
	for _, dir := range []string{empty, missing} {
		b, err := os.ReadFile(filepath.Join(dir, "iisstart.htm"))
		must.NoError(t, err)
		must.Eq(t, "start page", string(b))
		must.FileExists(t, filepath.Join(dir, "img", "logo.png"))
	}
	must.FileNotExists(t, filepath.Join(full, "iisstart.htm"))
	must.DirExists(t, filepath.Join(taskDir, "tmp"))
}

func TestPrepareDirectories_NoPlaceholder(t *testing.T) {
	taskDir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "elsewhere")
	inside := filepath.Join(taskDir, "local", "site")
	plan := &taskPlan{contentDirs: []string{inside, outside}}
	must.NoError(t, prepareDirectories(taskDir, plan, ""))
	// Missing directories of the task are created; others are left to IIS.
	must.DirExists(t, inside)
	must.DirNotExists(t, outside)
}
