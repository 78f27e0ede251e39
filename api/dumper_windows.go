//go:build windows

package api

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/hashicorp/go-hclog"
	"golang.org/x/sys/windows"
)

// newDumper returns the Windows dumper: procdump.exe when the driver's
// procdump block enables it (accept_eula and an existing binary_path), else
// the native MiniDumpWriteDump writer. The block is read at each dump,
// because the driver receives it after the API has started.
func newDumper(cfg Config, log hclog.Logger) dumper {
	return windowsDumper{procdump: cfg.ProcdumpSource, log: log}
}

// windowsDumper picks procdump.exe or the native writer for each dump.
type windowsDumper struct {
	// procdump supplies the driver's procdump block (Config.ProcdumpSource);
	// nil means none.
	procdump func() (binaryPath string, acceptEula bool)
	log      hclog.Logger
}

// Dump implements dumper.
func (d windowsDumper) Dump(ctx context.Context, pid int, dir string) (string, string, error) {
	var path string
	var eula bool
	if d.procdump != nil {
		path, eula = d.procdump()
	}
	if eula && path != "" {
		if _, err := os.Stat(path); err == nil {
			return procdumpExe{path: path}.Dump(ctx, pid, dir)
		}
		d.log.Warn("procdump binary not found; dumps are written with MiniDumpWriteDump", "binary_path", path)
	}
	return miniDumper{}.Dump(ctx, pid, dir)
}

var (
	modDbghelp            = windows.NewLazySystemDLL("dbghelp.dll")
	procMiniDumpWriteDump = modDbghelp.NewProc("MiniDumpWriteDump")
)

// MINIDUMP_TYPE flags of a full dump, as procdump -ma writes it.
const (
	miniDumpWithFullMemory       = 0x00000002
	miniDumpWithHandleData       = 0x00000004
	miniDumpWithUnloadedModules  = 0x00000020
	miniDumpWithFullMemoryInfo   = 0x00000800
	miniDumpWithThreadInfo       = 0x00001000
	miniDumpWithTokenInformation = 0x00040000
	fullDumpType                 = miniDumpWithFullMemory | miniDumpWithHandleData | miniDumpWithUnloadedModules | miniDumpWithFullMemoryInfo | miniDumpWithThreadInfo | miniDumpWithTokenInformation
)

// miniDumper writes a full memory dump with dbghelp's MiniDumpWriteDump; no
// external tool is needed. The process is suspended while it is written.
type miniDumper struct{}

func (miniDumper) Dump(ctx context.Context, pid int, dir string) (string, string, error) {
	if err := modDbghelp.Load(); err != nil {
		return "", "", &toolMissingError{msg: "dbghelp.dll cannot be loaded: " + err.Error()}
	}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_INFORMATION|windows.PROCESS_VM_READ, false, uint32(pid))
	if err != nil {
		return "", "", fmt.Errorf("open process %d: %w", pid, err)
	}
	defer windows.CloseHandle(h)
	path := filepath.Join(dir, fmt.Sprintf("w3wp-%d.dmp", pid))
	f, err := os.Create(path)
	if err != nil {
		return "", "", fmt.Errorf("create the dump file: %w", err)
	}
	defer f.Close()
	r1, _, callErr := procMiniDumpWriteDump.Call(uintptr(h), uintptr(pid), f.Fd(), fullDumpType, 0, 0, 0)
	if r1 == 0 {
		return "", "", fmt.Errorf("MiniDumpWriteDump: %w", callErr)
	}
	if err := f.Close(); err != nil {
		return "", "", fmt.Errorf("write the dump file: %w", err)
	}
	return path, ".dmp", nil
}

// procdumpExe runs Sysinternals procdump.exe, as nomad-iis 0.20 does.
type procdumpExe struct {
	path string
}

func (p procdumpExe) Dump(ctx context.Context, pid int, dir string) (string, string, error) {
	out := dir + string(os.PathSeparator) + "w3wp.dmp"
	output, err := runTool(ctx, p.path, "-accepteula", "-ma", strconv.Itoa(pid), out)
	// procdump's exit code is not a reliable success signal; the file is.
	if fi, serr := os.Stat(out); serr == nil && fi.Size() > 0 {
		return out, ".dmp", nil
	}
	return "", "", fmt.Errorf("procdump wrote no dump (%v): %s", err, lastLines(output, 5))
}
