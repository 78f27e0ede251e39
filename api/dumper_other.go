//go:build !windows

package api

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/hashicorp/go-hclog"
)

// newDumper returns gdb's gcore: on hosts without IIS the workers are
// iissim's processes, and a core file is their dump.
func newDumper(cfg Config, log hclog.Logger) dumper {
	return gcoreDumper{path: cfg.GcorePath, log: log}
}

// gcoreDumper writes a core file with gcore; the process keeps running.
type gcoreDumper struct {
	path string
	log  hclog.Logger
}

func (g gcoreDumper) Dump(ctx context.Context, pid int, dir string) (string, string, error) {
	exe := g.path
	if exe == "" {
		p, err := exec.LookPath("gcore")
		if err != nil {
			return "", "", &toolMissingError{msg: fmt.Sprintf("gcore is not installed (Debian package gdb); install it or set %s", FlagGcore)}
		}
		exe = p
	} else if _, err := os.Stat(exe); err != nil {
		return "", "", &toolMissingError{msg: fmt.Sprintf("%s %s does not exist", FlagGcore, exe)}
	}
	prefix := filepath.Join(dir, "core")
	out, err := runTool(ctx, exe, "-o", prefix, strconv.Itoa(pid))
	path := prefix + "." + strconv.Itoa(pid)
	if fi, serr := os.Stat(path); serr != nil || fi.Size() == 0 {
		return "", "", fmt.Errorf("gcore wrote no core file (%v): %s", err, lastLines(out, 3))
	}
	// A core file has large zero-filled regions (reserved address space);
	// punching holes keeps the temporary file small on disk.
	if fa, err := exec.LookPath("fallocate"); err == nil {
		if out, err := runTool(ctx, fa, "--dig-holes", path); err != nil {
			g.log.Debug("fallocate --dig-holes failed", "error", err, "output", lastLines(out, 2))
		}
	}
	return path, ".core", nil
}
