package scripts

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/nomad-iis/nomad-iis/iissim"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

// opArgs maps every operation to the Go type the typed client (ps.IIS)
// sends as its arguments. The host splats the JSON fields of that type as
// named parameters, so the operation's function must take exactly them.
var opArgs = map[ps.Op]any{
	ps.OpTestConnection:      struct{}{},
	ps.OpGetServerInfo:       struct{}{},
	ps.OpNewTaskSite:         ps.TaskSiteSpec{},
	ps.OpRemoveTaskSite:      ps.RemoveTaskSiteArgs{},
	ps.OpGetWebsite:          ps.NameArgs{},
	ps.OpGetAppPool:          ps.GetAppPoolArgs{},
	ps.OpStartAppPool:        ps.NameArgs{},
	ps.OpStopAppPool:         ps.StopAppPoolArgs{},
	ps.OpRestartAppPool:      ps.NameArgs{},
	ps.OpImportCertificate:   ps.ImportCertificateArgs{},
	ps.OpRemoveCertificate:   ps.RemoveCertificateArgs{},
	ps.OpSetTaskDirectoryAcl: ps.TaskDirectoryAclArgs{},
	ps.OpGetManagedResource:  struct{}{},
	ps.OpInvokeHook:          ps.InvokeHookArgs{},
	ps.OpGetExtension:        struct{}{},
}

// requestTypes are the nested argument types whose fields the module reads
// by name from the request objects.
var requestTypes = []any{
	ps.AppPoolSpec{}, ps.ApplicationSpec{}, ps.VirtualDirectorySpec{},
	ps.BindingSpec{}, ps.AutoStartProviderSpec{}, ps.Attribute{}, ps.EnvVar{},
}

// resultTypes are what the operations answer; the module and the host
// must write every field under its JSON name.
var resultTypes = []any{
	ps.ConnectionInfo{}, ps.ServerInfo{}, ps.TaskSite{}, ps.RemovedTaskSite{},
	ps.Website{}, ps.Binding{}, ps.Application{}, ps.VirtualDirectory{},
	ps.AppPool{}, ps.WorkerProcess{}, ps.Certificate{}, ps.RemovedCertificate{},
	ps.ManagedResources{}, ps.ManagedResource{}, ps.HookResult{}, ps.HookRun{},
	ps.Extensions{}, ps.Extension{},
}

// The zero-downtime deploy's switch: its arguments and its result.
func init() {
	opArgs[ps.OpSwitchApplicationVersion] = ps.SwitchApplicationVersionArgs{}
	resultTypes = append(resultTypes, ps.SwitchedApplicationVersion{})
}

var (
	dotSourceLine = regexp.MustCompile(`(?m)^\. \(Join-Path -Path \$PSScriptRoot -ChildPath '([^']+)'\)\s*$`)
	exportCall    = regexp.MustCompile(`Export-ModuleMember\s+-Function\s+@\(`)
	quotedName    = regexp.MustCompile(`'([^']*)'`)
	contractName  = regexp.MustCompile(`^[A-Z][a-z]+-NomadIis[A-Z][A-Za-z]*$`)
	hookEntry     = regexp.MustCompile(`(?m)^\s*(PreStart|PostStart|PreStop|PostStop)\s*=\s*'(Invoke-[A-Za-z]+Hook)'`)
	topLevelStop  = regexp.MustCompile(`(?m)^\$ErrorActionPreference = 'Stop'\r?$`)
	functionStop  = regexp.MustCompile(`(?m)^\s+\$ErrorActionPreference = 'Stop'\r?$`)
)

// module is the parsed NomadIis module: the .psm1 and its dot-sourced files.
type module struct {
	psm1    *psSource
	files   []*psSource
	exports []string
}

func loadModule(t *testing.T) *module {
	t.Helper()
	m := &module{psm1: loadPS(t, ModuleFile)}
	m.files = append(m.files, m.psm1)
	for _, match := range dotSourceLine.FindAllStringSubmatch(m.psm1.text, -1) {
		m.files = append(m.files, loadPS(t, match[1]))
	}
	loc := exportCall.FindStringIndex(m.psm1.code)
	must.NotNil(t, loc, must.Sprint("NomadIis.psm1 has no Export-ModuleMember -Function @(...)"))
	end, err := matchClose(m.psm1.code, loc[1]-1, '(', ')')
	must.NoError(t, err)
	for _, q := range quotedName.FindAllStringSubmatch(m.psm1.text[loc[1]:end], -1) {
		m.exports = append(m.exports, q[1])
	}
	return m
}

// definitions maps each function name the module defines to its file.
func (m *module) definitions() map[string]string {
	defs := map[string]string{}
	for _, f := range m.files {
		for _, fn := range f.functions {
			defs[fn.name] = f.name
		}
	}
	return defs
}

func (m *module) function(name string) *psFunction {
	for _, f := range m.files {
		if fn := f.function(name); fn != nil {
			return fn
		}
	}
	return nil
}

// text is the whole module's source.
func (m *module) text() string {
	var b strings.Builder
	for _, f := range m.files {
		b.WriteString(f.text)
		b.WriteString("\n")
	}
	return b.String()
}

// TestOperations_Consistent compares the contract's operation list
// (ps.Operations), the module's functions and exports, and iissim's list.
func TestOperations_Consistent(t *testing.T) {
	m := loadModule(t)
	defs := m.definitions()
	exported := map[string]bool{}
	for _, name := range m.exports {
		exported[name] = true
	}
	contract := map[string]bool{}
	var problems []string
	for _, info := range ps.Operations {
		fn := ps.PowerShellFunction(info.Name)
		contract[fn] = true
		if _, ok := defs[fn]; !ok {
			problems = append(problems, fmt.Sprintf("operation %s: NomadIis module defines no function %s", info.Name, fn))
		}
		if !exported[fn] {
			problems = append(problems, fmt.Sprintf("operation %s: NomadIis.psm1 does not export %s", info.Name, fn))
		}
	}
	for _, name := range m.exports {
		if !contract[name] {
			problems = append(problems, fmt.Sprintf("NomadIis.psm1 exports %s, which serves no operation of ps.Operations", name))
		}
		if _, ok := defs[name]; !ok {
			problems = append(problems, fmt.Sprintf("NomadIis.psm1 exports %s, which the module does not define", name))
		}
	}
	for name, file := range defs {
		if contractName.MatchString(name) && !contract[name] && name != "New-NomadIisError" {
			problems = append(problems, fmt.Sprintf("%s defines %s, named like an operation but not one of ps.Operations", file, name))
		}
	}

	simOps := map[ps.Op]bool{}
	for _, op := range iissim.Operations() {
		simOps[op] = true
		if _, ok := ps.Lookup(op); !ok {
			problems = append(problems, fmt.Sprintf("iissim.Operations has %s, which is not in ps.Operations", op))
		}
	}
	for _, info := range ps.Operations {
		if !simOps[info.Name] {
			problems = append(problems, fmt.Sprintf("operation %s: missing from iissim.Operations", info.Name))
		}
	}
	sort.Strings(problems)
	must.SliceEmpty(t, problems, must.Sprintf("the operation lists differ:\n%s", strings.Join(problems, "\n")))
}

// jsonFields returns the JSON names of a struct's fields.
func jsonFields(v any) []string {
	typ := reflect.TypeOf(v)
	var names []string
	for i := 0; i < typ.NumField(); i++ {
		tag := typ.Field(i).Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			continue
		}
		names = append(names, name)
	}
	return names
}

// TestModule_ParametersMatchArguments checks that each operation's function
// takes exactly the JSON fields of its arguments as parameters: a field
// without a parameter would make every call fail, a parameter without a
// field is never set.
func TestModule_ParametersMatchArguments(t *testing.T) {
	m := loadModule(t)
	for _, info := range ps.Operations {
		t.Run(string(info.Name), func(t *testing.T) {
			args, ok := opArgs[info.Name]
			must.True(t, ok, must.Sprintf("opArgs has no entry for %s; add the client's argument type", info.Name))
			fn := m.function(ps.PowerShellFunction(info.Name))
			must.NotNil(t, fn, must.Sprintf("no function %s", ps.PowerShellFunction(info.Name)))
			want := lowerAll(jsonFields(args))
			got := lowerAll(fn.params)
			must.Eq(t, want, got, must.Sprintf("parameters of %s (case-insensitive) against the JSON fields of %T", fn.name, args))
		})
	}
}

func lowerAll(names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, strings.ToLower(n))
	}
	sort.Strings(out)
	return out
}

// TestModule_ReadsRequestFields checks that the module reads every field of
// the nested request types under its exact JSON name ('name' or .name).
func TestModule_ReadsRequestFields(t *testing.T) {
	text := loadModule(t).text()
	for _, v := range requestTypes {
		for _, field := range jsonFields(v) {
			quoted := "'" + field + "'"
			dotted := regexp.MustCompile(`\.` + regexp.QuoteMeta(field) + `\b`)
			must.True(t, strings.Contains(text, quoted) || dotted.MatchString(text),
				must.Sprintf("the module never reads %T field %q", v, field))
		}
	}
}

// TestScripts_WriteResultFields checks that every field of the result types
// is written as a hashtable key with its exact JSON name.
func TestScripts_WriteResultFields(t *testing.T) {
	text := loadModule(t).text() + loadPS(t, HostScript).text
	for _, v := range resultTypes {
		for _, field := range jsonFields(v) {
			key := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(field) + `\s*=`)
			must.True(t, key.MatchString(text), must.Sprintf("no script writes %T field %q as a key", v, field))
		}
	}
}

// TestScripts_HooksAndKinds checks the hook names of the host and the
// module against the contract's, and the error kinds against ps's.
func TestScripts_HooksAndKinds(t *testing.T) {
	want := map[string]string{
		ps.HookPreStart:  "Invoke-PreStartHook",
		ps.HookPostStart: "Invoke-PostStartHook",
		ps.HookPreStop:   "Invoke-PreStopHook",
		ps.HookPostStop:  "Invoke-PostStopHook",
	}
	for _, file := range []string{HostScript, "NomadIis.Extension.ps1"} {
		got := map[string]string{}
		for _, m := range hookEntry.FindAllStringSubmatch(loadPS(t, file).text, -1) {
			got[m[1]] = m[2]
		}
		must.Eq(t, want, got, must.Sprintf("hook functions of %s", file))
	}

	kinds := []string{string(ps.KindNotFound), string(ps.KindInvalidArgument), string(ps.KindConflict), string(ps.KindUnavailable), string(ps.KindInternal)}
	validateSet := "[ValidateSet('" + strings.Join(kinds, "', '") + "')]"
	for _, file := range []string{HostScript, "NomadIis.Common.ps1"} {
		must.StrContains(t, loadPS(t, file).text, validateSet, must.Sprintf("%s lists the error kinds", file))
	}
	must.StrContains(t, loadPS(t, HostScript).text, "$script:ErrorKinds = @('"+strings.Join(kinds, "', '")+"')")
}

// ps7Only are constructs Windows PowerShell 5.1 cannot run, searched in the
// code (comments and strings blanked).
var ps7Only = []struct {
	pattern *regexp.Regexp
	why     string
}{
	{regexp.MustCompile(`\?`), `"?" (the ?? ?. ?[] and ternary operators are PowerShell 7; write Where-Object, not ?)`},
	{regexp.MustCompile(`&&|\|\|`), "pipeline chain operators && and || are PowerShell 7"},
	{regexp.MustCompile(`(?i)-AsHashtable\b`), "ConvertFrom-Json -AsHashtable is PowerShell 7"},
	{regexp.MustCompile(`(?i)-Parallel\b`), "ForEach-Object -Parallel is PowerShell 7"},
	{regexp.MustCompile(`(?i)-SkipEditionCheck\b`), "-SkipEditionCheck does not exist in 5.1 (splat it conditionally)"},
	{regexp.MustCompile(`(?i)\bWrite-Host\b`), "Write-Host writes to the console, which is the response stream"},
	{regexp.MustCompile(`(?i)\bInvoke-Expression\b|\biex\b`), "Invoke-Expression runs text as code"},
}

// allScripts lists every PowerShell file of the package: the embedded ones
// and the examples.
func allScripts(t *testing.T) []string {
	t.Helper()
	files := Files()
	examples, err := filepath.Glob(filepath.Join("examples", "*.ps1"))
	must.NoError(t, err)
	must.SliceNotEmpty(t, examples, must.Sprint("no example extension scripts"))
	return append(files, examples...)
}

// TestScripts_HouseRules enforces the rules PSScriptAnalyzer would, for the
// scripts that run in Windows PowerShell 5.1: ASCII only, no tabs, no
// PowerShell 7 syntax, no Write-Host; every function an advanced function
// with a param block, comment-based help and $ErrorActionPreference = 'Stop';
// every operation also with [OutputType()]; and the module and host setting
// $ErrorActionPreference = 'Stop' at the top.
func TestScripts_HouseRules(t *testing.T) {
	operations := map[string]bool{}
	for _, info := range ps.Operations {
		operations[ps.PowerShellFunction(info.Name)] = true
	}
	for _, path := range allScripts(t) {
		t.Run(path, func(t *testing.T) {
			raw, err := os.ReadFile(path)
			must.NoError(t, err)
			for i, b := range raw {
				if b >= 0x80 {
					line := strings.Count(string(raw[:i]), "\n") + 1
					t.Errorf("%s:%d: byte 0x%02x is not ASCII (Windows PowerShell 5.1 reads files without a BOM as ANSI)", path, line, b)
					break
				}
			}
			must.False(t, strings.Contains(string(raw), "\t"), must.Sprintf("%s contains a tab", path))
			must.False(t, strings.Contains(string(raw), "\r"), must.Sprintf("%s contains a carriage return; keep LF line ends", path))

			src := loadPS(t, path)
			for _, rule := range ps7Only {
				if loc := rule.pattern.FindStringIndex(src.code); loc != nil {
					line := strings.Count(src.code[:loc[0]], "\n") + 1
					t.Errorf("%s:%d: %s", path, line, rule.why)
				}
			}
			for _, fn := range src.functions {
				where := fmt.Sprintf("%s:%d: function %s", path, fn.line, fn.name)
				must.StrContains(t, fn.bodyCode, "[CmdletBinding(", must.Sprintf("%s has no [CmdletBinding()]", where))
				must.True(t, fn.hasParam, must.Sprintf("%s has no param block", where))
				must.StrContains(t, fn.body, ".SYNOPSIS", must.Sprintf("%s has no comment-based help", where))
				must.True(t, functionStop.MatchString(fn.body), must.Sprintf("%s does not set $ErrorActionPreference = 'Stop'", where))
				if operations[fn.name] {
					must.StrContains(t, fn.bodyCode, "[OutputType(", must.Sprintf("%s has no [OutputType()]", where))
				}
			}
			if path == HostScript || path == ModuleFile {
				must.True(t, topLevelStop.MatchString(src.text), must.Sprintf("%s does not set $ErrorActionPreference = 'Stop' at the top", path))
			}
		})
	}
}

// TestModule_FilesEmbedded checks that the module dot-sources exactly the
// embedded NomadIis.*.ps1 files: a file the module loads but the binary
// lacks would break every start on Windows.
func TestModule_FilesEmbedded(t *testing.T) {
	m := loadModule(t)
	var dotSourced []string
	for _, f := range m.files[1:] {
		dotSourced = append(dotSourced, f.name)
	}
	sort.Strings(dotSourced)
	var embeddedParts []string
	for _, name := range Files() {
		if strings.HasPrefix(name, "NomadIis.") && strings.HasSuffix(name, ".ps1") {
			embeddedParts = append(embeddedParts, name)
		}
	}
	must.Eq(t, embeddedParts, dotSourced)
	must.SliceContains(t, Files(), HostScript)
	must.SliceContains(t, Files(), ModuleFile)
}

// TestExamples_DefineHooks checks that each example defines at least one
// hook function, and only hook functions the host knows.
func TestExamples_DefineHooks(t *testing.T) {
	known := []string{"Invoke-PreStartHook", "Invoke-PostStartHook", "Invoke-PreStopHook", "Invoke-PostStopHook"}
	examples, err := filepath.Glob(filepath.Join("examples", "*.ps1"))
	must.NoError(t, err)
	for _, path := range examples {
		src := loadPS(t, path)
		hooks := 0
		for _, fn := range src.functions {
			if strings.HasPrefix(fn.name, "Invoke-") && strings.HasSuffix(fn.name, "Hook") {
				must.SliceContains(t, known, fn.name, must.Sprintf("%s defines %s, which is not a hook", path, fn.name))
				must.Eq(t, []string{"Context"}, fn.params, must.Sprintf("%s: %s must take -Context", path, fn.name))
				hooks++
			}
		}
		must.Positive(t, hooks, must.Sprintf("%s defines no hook function", path))
	}
}

func TestFiles(t *testing.T) {
	files := Files()
	must.True(t, slices.IsSorted(files))
	for _, name := range files {
		embeddedContent, err := Read(name)
		must.NoError(t, err)
		onDisk, err := os.ReadFile(name)
		must.NoError(t, err)
		must.Eq(t, onDisk, embeddedContent, must.Sprintf("embedded %s", name))
	}
	_, err := Read("missing.ps1")
	must.Error(t, err)
}

func TestWriteTo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "scripts")
	must.NoError(t, WriteTo(dir))
	for _, name := range Files() {
		want, err := Read(name)
		must.NoError(t, err)
		got, err := os.ReadFile(filepath.Join(dir, name))
		must.NoError(t, err)
		must.Eq(t, want, got, must.Sprintf("written %s", name))
	}

	// A stale copy is replaced, an up-to-date one and foreign files are left.
	stale := filepath.Join(dir, HostScript)
	must.NoError(t, os.WriteFile(stale, []byte("old"), 0o644))
	foreign := filepath.Join(dir, "site.ps1")
	must.NoError(t, os.WriteFile(foreign, []byte("mine"), 0o644))
	module := filepath.Join(dir, ModuleFile)
	before, err := os.Stat(module)
	must.NoError(t, err)

	must.NoError(t, WriteTo(dir))
	want, err := Read(HostScript)
	must.NoError(t, err)
	got, err := os.ReadFile(stale)
	must.NoError(t, err)
	must.Eq(t, want, got)
	mine, err := os.ReadFile(foreign)
	must.NoError(t, err)
	must.EqOp(t, "mine", string(mine))
	after, err := os.Stat(module)
	must.NoError(t, err)
	must.True(t, os.SameFile(before, after), must.Sprint("an up-to-date script was rewritten"))

	entries, err := os.ReadDir(dir)
	must.NoError(t, err)
	for _, e := range entries {
		must.False(t, strings.HasSuffix(e.Name(), ".tmp"), must.Sprintf("temporary file %s left behind", e.Name()))
	}
}

func TestWriteTo_Error(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	must.NoError(t, os.WriteFile(file, nil, 0o644))
	must.Error(t, WriteTo(filepath.Join(file, "scripts")))
}

// TestEmbedded_ShipsNoTests holds the Pester tests out of the plugin: they
// run from the source tree (the Windows workflow, the Vagrant box), never
// from the scripts the driver writes next to host.ps1.
func TestEmbedded_ShipsNoTests(t *testing.T) {
	t.Parallel()
	tests, err := filepath.Glob(filepath.Join("tests", "*.Tests.ps1"))
	must.NoError(t, err)
	must.SliceNotEmpty(t, tests, must.Sprint("no Pester tests in scripts/tests"))
	for _, name := range Files() {
		must.False(t, strings.HasSuffix(strings.ToLower(name), ".tests.ps1"), must.Sprintf("%s is embedded", name))
		must.StrNotContains(t, name, "/")
	}
	dir := t.TempDir()
	must.NoError(t, WriteTo(dir))
	_, err = os.Stat(filepath.Join(dir, "tests"))
	must.True(t, os.IsNotExist(err), must.Sprint("WriteTo wrote the tests"))
	for _, path := range tests {
		b, err := os.ReadFile(path)
		must.NoError(t, err)
		for i, c := range b {
			if c > 0x7e || (c < 0x20 && c != '\n' && c != '\r' && c != '\t') {
				t.Fatalf("%s: byte %d is 0x%02x; the tests are ASCII, as Windows PowerShell 5.1 reads files without a byte order mark in the ANSI code page", path, i, c)
			}
		}
	}
}
