// Package pscheck holds the Go tests of the PowerShell checker in this
// directory (check.js, a Node.js program): they run its self-test, check
// its exit codes, and hold its cmdlet table to the shape lint.js expects.
package pscheck

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/shoenig/test/must"
)

// node returns the command that runs check.js with the given arguments,
// and fails the test when Node.js or the checker's packages are missing.
func node(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	bin, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed; run make deps: %v", err)
	}
	if _, err := os.Stat(filepath.Join("node_modules", "web-tree-sitter")); err != nil {
		t.Fatalf("the checker's packages are not installed; run make deps (npm ci in tools/pscheck): %v", err)
	}
	return exec.Command(bin, append([]string{"check.js"}, args...)...)
}

// exitCode runs cmd and returns its exit code and combined output.
func exitCode(t *testing.T, cmd *exec.Cmd) (int, string) {
	t.Helper()
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	default:
		t.Fatalf("run %v: %v", cmd.Args, err)
		return -1, ""
	}
}

func TestSelfTest(t *testing.T) {
	t.Parallel()
	code, out := exitCode(t, node(t, "--self-test"))
	must.EqOp(t, 0, code, must.Sprint(out))
	must.StrContains(t, out, "fixtures behave")
}

// Each run of check.js compiles the grammar (several seconds of CPU), so
// the cases run one after the other and each checks several files at once.
func TestCheck_ExitCode(t *testing.T) {
	t.Parallel()
	bad := []string{
		"testdata/bad/lint-binder.ps1", "testdata/bad/lint-call.ps1", "testdata/bad/lint-cmdlet.ps1",
		"testdata/bad/lint-console.ps1", "testdata/bad/lint-ps51.ps1",
	}
	good := []string{
		"testdata/good/lint-binder.ps1", "testdata/good/lint-call.ps1", "testdata/good/lint-cmdlet.ps1",
		"testdata/good/lint-console.ps1", "testdata/good/lint-ps51.ps1",
	}
	cases := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{
			name: "findings fail the run",
			args: bad,
			code: 1,
			contains: []string{
				"lint-binder.ps1:8:9: [binder] Add-Secret -Secrets",
				"lint-call.ps1:26:19: [call] Get-PoolState -Nmae is not a parameter",
				"lint-cmdlet.ps1:4:21: [cmdlet] Stop-IISCommitDelay -Comit",
				"lint-console.ps1:3:1: [console] Write-Host",
				"lint-ps51.ps1:4:46: [ps51] ConvertFrom-Json -AsHashtable",
				"pscheck: 5 of 5 files have errors",
			},
		},
		{name: "clean files pass", args: good, code: 0, contains: []string{"pscheck: 5 files OK"}},
		{
			name:     "syntax only skips the rules",
			args:     append([]string{"--syntax-only"}, bad...),
			code:     0,
			contains: []string{"pscheck: 5 files OK (syntax only)"},
		},
	}
	for _, tc := range cases {
		code, out := exitCode(t, node(t, tc.args...))
		must.EqOp(t, tc.code, code, must.Sprintf("%s: %s", tc.name, out))
		for _, want := range tc.contains {
			must.StrContains(t, out, want, must.Sprint(tc.name))
		}
	}
}

// cmdletTable is the shape of cmdlets.json that lint.js reads.
type cmdletTable struct {
	Cmdlets map[string]struct {
		Module     string              `json:"module"`
		Source     string              `json:"source"`
		Checked    string              `json:"checked"`
		Verified   *bool               `json:"verified"`
		Reason     string              `json:"reason"`
		Note       string              `json:"note"`
		Parameters []string            `json:"parameters"`
		Aliases    map[string][]string `json:"aliases"`
	} `json:"cmdlets"`
	PowerShell7 struct {
		Cmdlets    map[string]string            `json:"cmdlets"`
		Parameters map[string]map[string]string `json:"parameters"`
	} `json:"powershell7"`
}

// The modules whose cmdlets the scripts may call.
var modules = []string{
	"IISAdministration", "WebAdministration", "PKI",
	"Microsoft.PowerShell.Core", "Microsoft.PowerShell.Utility", "Microsoft.PowerShell.Management", "Microsoft.PowerShell.Security",
	"Microsoft.PowerShell.Diagnostics", "CimCmdlets",
	"Pester",
}

// sourcePrefix is where an entry of a module is documented; Pester's
// entries name the major version whose commands they list, since the
// Pester tests are written for Pester 5 and its commands differ from 4's.
func sourcePrefix(module string) string {
	if module == "Pester" {
		return "Pester 5: https://pester.dev/docs/commands/"
	}
	return "https://learn.microsoft.com/powershell/module/"
}

// docsSource is the documentation source an entry of a module is checked
// against: the markdown its documentation page is built from, in the
// repository and folder that hold that module's reference.
func docsSource(module string) (repo, folder string) {
	switch module {
	case "Pester":
		return "pester/docs@", "versioned_docs/version-v5/commands/"
	case "IISAdministration":
		return "MicrosoftDocs/windows-powershell-docs@", "docset/winserver2022-ps/IISAdministration/"
	case "PKI":
		return "MicrosoftDocs/windows-powershell-docs@", "docset/winserver2022-ps/pki/"
	default:
		return "MicrosoftDocs/PowerShell-Docs@", "reference/5.1/" + module + "/"
	}
}

// checkEntry holds an entry to the record of how it was checked: "docs
// source <repo>@<commit> <path of the entry's own page>", optionally
// preceded by "docs page, and " when the published page was read too; or
// "verified": false with the reason no documentation could be found.
func checkEntry(t *testing.T, name, module, checked string, verified *bool, reason string) {
	t.Helper()
	if verified != nil && !*verified {
		must.NotEq(t, "", strings.TrimSpace(reason), must.Sprintf("%s: verified is false without a reason", name))
		return
	}
	must.True(t, verified == nil, must.Sprintf("%s: verified is only written as false, with a reason", name))
	must.EqOp(t, "", reason, must.Sprintf("%s: a reason belongs to an entry with verified false", name))
	rest, ok := strings.CutPrefix(strings.TrimPrefix(checked, "docs page, and "), "docs source ")
	must.True(t, ok, must.Sprintf("%s: checked %q does not start with \"docs source \" or \"docs page, and docs source \"", name, checked))
	repo, folder := docsSource(module)
	fields := strings.Fields(rest)
	must.SliceLen(t, 2, fields, must.Sprintf("%s: checked %q is not \"docs source <repo>@<commit> <path>\"", name, checked))
	commit, ok := strings.CutPrefix(fields[0], repo)
	must.True(t, ok, must.Sprintf("%s: checked names %s, not %s", name, fields[0], strings.TrimSuffix(repo, "@")))
	must.RegexMatch(t, hexCommit, commit, must.Sprintf("%s: checked names no commit of %s", name, repo))
	page := strings.TrimSuffix(strings.TrimSuffix(fields[1], ".mdx"), ".md")
	must.EqOp(t, folder+name, page, must.Sprintf("%s: checked names another page", name))
}

// hexCommit is an abbreviated or full git commit id.
var hexCommit = regexp.MustCompile(`^[0-9a-f]{7,40}$`)

// Parameters every cmdlet has; lint.js adds them, the table must not list them.
var common = []string{
	"verbose", "debug", "erroraction", "warningaction", "informationaction", "errorvariable",
	"warningvariable", "informationvariable", "outvariable", "outbuffer", "pipelinevariable",
}

func TestCmdletTable(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("cmdlets.json")
	must.NoError(t, err)
	var table cmdletTable
	must.NoError(t, json.Unmarshal(raw, &table))
	must.MapNotEmpty(t, table.Cmdlets)
	for name, c := range table.Cmdlets {
		must.SliceContains(t, modules, c.Module, must.Sprintf("%s: module", name))
		must.StrHasPrefix(t, sourcePrefix(c.Module), c.Source, must.Sprintf("%s: source", name))
		checkEntry(t, name, c.Module, c.Checked, c.Verified, c.Reason)
		seen := map[string]bool{}
		for _, p := range c.Parameters {
			lower := strings.ToLower(p)
			must.False(t, seen[lower], must.Sprintf("%s: -%s listed twice", name, p))
			seen[lower] = true
			must.False(t, slices.Contains(common, lower), must.Sprintf("%s: -%s is a common parameter", name, p))
		}
		for p := range c.Aliases {
			must.True(t, seen[strings.ToLower(p)], must.Sprintf("%s: alias of -%s, which the cmdlet does not list", name, p))
		}
		_, ps7 := table.PowerShell7.Cmdlets[name]
		must.False(t, ps7, must.Sprintf("%s is both a 5.1 cmdlet and a PowerShell 7 one", name))
	}
	for name, params := range table.PowerShell7.Parameters {
		c, ok := table.Cmdlets[name]
		must.True(t, ok, must.Sprintf("PowerShell 7 parameters of %s, which the table does not list", name))
		for p := range params {
			must.False(t, slices.ContainsFunc(c.Parameters, func(q string) bool { return strings.EqualFold(p, q) }),
				must.Sprintf("%s -%s is listed both as 5.1 and as PowerShell 7", name, p))
		}
	}
}
