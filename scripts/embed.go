// Package scripts holds the PowerShell side of nomad-iis: host.ps1, the
// request loop the driver starts on Windows, and the NomadIis module whose
// functions serve the operations of the contract (package ps). The files are
// embedded into the plugin binary and written into one directory before
// PowerShell is started on them (ps.PowerShellCommand).
//
// The scripts are kept pure ASCII: Windows PowerShell 5.1 reads a file
// without a byte order mark in the system's ANSI code page, and ASCII reads
// the same in every code page. A test enforces it, along with the house
// rules of the module and the match between the module's functions and the
// contract's operation list.
//
// The example admin extension scripts in examples/ are not embedded; they
// ship with the source as a starting point for operators.
package scripts

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
)

// HostScript is the script PowerShell runs; the other files sit next to it.
const HostScript = "host.ps1"

// ModuleFile is the module host.ps1 imports from its own directory.
const ModuleFile = "NomadIis.psm1"

//go:embed host.ps1 NomadIis.psm1 NomadIis.*.ps1
var embedded embed.FS

// Files lists the names of the embedded scripts, sorted.
func Files() []string {
	entries, err := fs.ReadDir(embedded, ".")
	if err != nil {
		// The embedded tree is fixed at build time; ReadDir of its root
		// cannot fail.
		return nil
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}

// Read returns the content of one embedded script.
func Read(name string) ([]byte, error) {
	b, err := embedded.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read embedded script %q: %w", name, err)
	}
	return b, nil
}

// WriteTo writes the embedded scripts into dir, creating it when needed.
// A file whose content is already right is left alone, and a file that
// changes is replaced through a temporary file and a rename, so that a
// PowerShell process starting at the same time never reads half a script.
// Other files in dir are not touched.
func WriteTo(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create script directory %s: %w", dir, err)
	}
	for _, name := range Files() {
		content, err := Read(name)
		if err != nil {
			return err
		}
		if err := writeFile(filepath.Join(dir, name), content); err != nil {
			return err
		}
	}
	return nil
}

// writeFile replaces path with content unless it already holds it.
func writeFile(path string, content []byte) error {
	if current, err := os.ReadFile(path); err == nil && bytes.Equal(current, content) {
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write script %s: %w", path, err)
	}
	_, werr := tmp.Write(content)
	cerr := tmp.Close()
	if err := firstErr(werr, cerr); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write script %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write script %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		_ = os.Remove(tmp.Name())
		return fmt.Errorf("write script %s: %w", path, err)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
