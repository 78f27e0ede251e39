//go:build !windows

package iissim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nomad-iis/nomad-iis/ps"
)

// Extension conventions of iissim (the PowerShell backend loads .ps1
// scripts instead):
//
//   - an extension is an executable file named <name>.hook in the
//     extensions directory;
//   - "<name>.hook Hooks" prints the hooks it implements (PreStart,
//     PostStart, PreStop, PostStop), separated by white space; it is run
//     whenever the extensions are listed or a hook is invoked;
//   - "<name>.hook <Hook>" runs one hook with the ps.HookContext as JSON on
//     stdin and IISSIM_HOOK and IISSIM_STATE_DIR in its environment; exit
//     status 0 is success and stdout its output; any other status fails the
//     hook with stderr (else the status) as the message, an error of kind
//     InvalidArgument;
//   - a .hook file that is not executable is listed as Failed, a .ps1 file
//     as Skipped; other files are ignored.
const (
	hookSuffix = ".hook"
	// hookTimeout bounds one run of a hook executable.
	hookTimeout = 90 * time.Second
	// listTimeout bounds the "Hooks" query of an extension.
	listTimeout = 10 * time.Second
)

// Extension statuses.
const (
	extLoaded  = "Loaded"
	extFailed  = "Failed"
	extSkipped = "Skipped"
)

// hookNames are the hooks an extension may implement.
var hookNames = []string{ps.HookPreStart, ps.HookPostStart, ps.HookPreStop, ps.HookPostStop}

// extensions runs the admin extension hooks of one directory.
type extensions struct {
	dir      string
	stateDir string
}

// serve answers OpGetExtension and OpInvokeHook.
func (e *extensions) serve(op ps.Op, raw json.RawMessage) (any, error) {
	switch op {
	case ps.OpGetExtension:
		return e.list(), nil
	case ps.OpInvokeHook:
		args, err := decodeArgs[ps.InvokeHookArgs](raw)
		if err != nil {
			return nil, err
		}
		return e.invoke(args)
	}
	return nil, invalidf("unknown operation %q", op)
}

// list finds the extensions and asks each which hooks it implements.
func (e *extensions) list() *ps.Extensions {
	out := &ps.Extensions{Directory: e.dir, Extensions: []ps.Extension{}}
	if e.dir == "" {
		return out
	}
	entries, err := os.ReadDir(e.dir)
	if err != nil {
		return out
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, ent := range entries {
		name := ent.Name()
		p := filepath.Join(e.dir, name)
		info, err := os.Stat(p)
		if err != nil || !info.Mode().IsRegular() {
			continue
		}
		switch {
		case strings.HasSuffix(name, hookSuffix):
			out.Extensions = append(out.Extensions, e.load(strings.TrimSuffix(name, hookSuffix), p, info))
		case strings.EqualFold(filepath.Ext(name), ".ps1"):
			out.Extensions = append(out.Extensions, ps.Extension{
				Name: strings.TrimSuffix(name, filepath.Ext(name)), Path: p, Status: extSkipped, Hooks: []string{},
				Error: "PowerShell extension scripts run on the powershell backend only; iissim runs executable .hook files",
			})
		}
	}
	return out
}

// load queries one hook executable.
func (e *extensions) load(name, path string, info os.FileInfo) ps.Extension {
	ext := ps.Extension{Name: name, Path: path, Status: extFailed, Hooks: []string{}}
	if info.Mode().Perm()&0o111 == 0 {
		ext.Error = "not executable (chmod +x " + path + ")"
		return ext
	}
	stdout, err := e.run(path, "Hooks", nil, listTimeout)
	if err != nil {
		ext.Error = err.Error()
		return ext
	}
	for _, h := range strings.Fields(stdout) {
		i := slices.IndexFunc(hookNames, func(n string) bool { return strings.EqualFold(n, h) })
		if i < 0 {
			ext.Error = fmt.Sprintf("unknown hook %q (known: %s)", h, strings.Join(hookNames, ", "))
			ext.Hooks = []string{}
			return ext
		}
		if !slices.Contains(ext.Hooks, hookNames[i]) {
			ext.Hooks = append(ext.Hooks, hookNames[i])
		}
	}
	ext.Status = extLoaded
	return ext
}

// invoke runs one hook of every loaded extension that implements it, in
// name order, and stops at the first failure.
func (e *extensions) invoke(args *ps.InvokeHookArgs) (*ps.HookResult, error) {
	i := slices.IndexFunc(hookNames, func(n string) bool { return strings.EqualFold(n, args.Hook) })
	if i < 0 {
		return nil, invalidf("hook: %q is not one of %s", args.Hook, strings.Join(hookNames, ", "))
	}
	hook := hookNames[i]
	ctxJSON, err := json.Marshal(args.Context)
	if err != nil {
		return nil, fmt.Errorf("hook context: %w", err)
	}
	out := &ps.HookResult{Runs: []ps.HookRun{}}
	for _, ext := range e.list().Extensions {
		if ext.Status != extLoaded || !slices.Contains(ext.Hooks, hook) {
			continue
		}
		stdout, err := e.run(ext.Path, hook, ctxJSON, hookTimeout)
		if err != nil {
			return nil, invalidf("extension %s, hook %s: %v", ext.Name, hook, err)
		}
		out.Runs = append(out.Runs, ps.HookRun{Extension: ext.Name, Output: strings.TrimSpace(stdout)})
	}
	return out, nil
}

// run executes an extension; a failure carries its stderr.
func (e *extensions) run(path, arg string, stdin []byte, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, arg)
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), "IISSIM_HOOK="+arg, "IISSIM_STATE_DIR="+e.stateDir)
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "", fmt.Errorf("did not finish within %s", timeout)
	}
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return "", errors.New(msg)
		}
		return "", err
	}
	return stdout.String(), nil
}
