package main

import (
	"strings"
	"testing"

	"github.com/shoenig/test/must"
)

// The summary prints the nomad-iis command's equivalents next to the curl
// commands, in the platform's shell.
func TestSummaryPrintsTheCommand(t *testing.T) {
	t.Parallel()
	s := summary{Backend: "iissim", Site: "http://127.0.0.1:23456/", NomadAddr: "http://127.0.0.1:4646",
		NomadCLI: "build/nomad", APIBase: "http://127.0.0.1:5004", APIKey: "k'1", AllocID: "9f2c", TaskName: "app",
		JobID: "static-sample-app", UploadZip: "build/run/static-sample-app-v2.zip", CLI: "build/nomad-iis"}
	var b strings.Builder
	printSummary(&b, s)
	out := b.String()
	for _, want := range []string{
		`curl -sS -H 'X-Api-Key: k'\''1' 'http://127.0.0.1:5004/api/v1/allocs/9f2c/app/status'`,
		`export NOMAD_ADDR='http://127.0.0.1:4646'`,
		`export NOMAD_IIS_API_KEY='k'\''1'`,
		"build/nomad-iis status --job static-sample-app\n",
		"build/nomad-iis download --job static-sample-app -o static-sample-app.zip local\n",
		"build/nomad-iis deploy --job static-sample-app --clean 'build/run/static-sample-app-v2.zip'",
	} {
		must.StrContains(t, out, want)
	}
	must.StrNotContains(t, out, "run: print the summary")

	s.Windows, s.CLI = true, `build\nomad-iis.exe`
	b.Reset()
	printSummary(&b, s)
	must.StrContains(t, b.String(), `$env:NOMAD_ADDR = 'http://127.0.0.1:4646'`)
	must.StrContains(t, b.String(), `build\nomad-iis.exe status --job static-sample-app`)
}
