//go:build windows

package driver

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/shoenig/test/must"
	"golang.org/x/sys/windows"
)

func TestLookPath_Windows(t *testing.T) {
	t.Parallel()
	taskDir, binDir := t.TempDir(), t.TempDir()
	for _, f := range []string{filepath.Join(taskDir, "run.cmd"), filepath.Join(binDir, "tool.exe"), filepath.Join(binDir, "tool.bat")} {
		must.NoError(t, os.WriteFile(f, []byte("x"), 0o644))
	}
	env := []string{"Path=" + binDir, "PATHEXT=.COM;.EXE;.BAT;.CMD"}

	got, err := lookPath("tool", taskDir, env)
	must.NoError(t, err)
	must.Eq(t, filepath.Join(binDir, "tool.exe"), got, must.Sprint("PATHEXT order, PATH matched case-insensitively"))

	got, err = lookPath("run", taskDir, env)
	must.NoError(t, err)
	must.Eq(t, filepath.Join(taskDir, "run.cmd"), got, must.Sprint("the task directory first, as cmd.exe"))

	got, err = lookPath(`.\run.cmd`, taskDir, env)
	must.NoError(t, err)
	must.Eq(t, filepath.Join(taskDir, "run.cmd"), got)

	_, err = lookPath("missing", taskDir, env)
	var nf *commandNotFoundError
	must.True(t, errors.As(err, &nf), must.Sprintf("a missing command is a not-found error: %v", err))
}

func TestEnvBlock_Windows(t *testing.T) {
	t.Parallel()
	p, err := envBlock([]string{"b=2", "A=1", "c=3"})
	must.NoError(t, err)
	// Read the block back: NUL-separated entries, ended by an empty one.
	var entries []string
	for ptr := unsafe.Pointer(p); ; {
		s := windows.UTF16PtrToString((*uint16)(ptr))
		if s == "" {
			break
		}
		entries = append(entries, s)
		u, err := windows.UTF16FromString(s)
		must.NoError(t, err)
		ptr = unsafe.Add(ptr, len(u)*2) // the entry and its NUL
	}
	must.Eq(t, []string{"A=1", "b=2", "c=3"}, entries)
}
