package main

import (
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/shoenig/test/must"
)

func TestVersionRequested(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"-version"}, {"--version", "--management-api-port=x"}} {
		must.True(t, versionRequested(args), must.Sprint(args))
	}
	for _, args := range [][]string{nil, {}, {"iissim", "--version"}, {"--management-api-port=5004"}, {"version"}} {
		must.False(t, versionRequested(args), must.Sprint(args))
	}
}

func TestParseArgs_Version(t *testing.T) {
	o, err := parseArgs([]string{"--management-api-port=5004", "--version"}, func(string) string { return "" }, io.Discard)
	must.NoError(t, err)
	must.True(t, o.version, must.Sprint("--version after other flags is caught by the flag set"))
	o, err = parseArgs([]string{"--management-api-port=5004"}, func(string) string { return "" }, io.Discard)
	must.NoError(t, err)
	must.False(t, o.version)
}

// TestVersion_Ldflags builds the plugin as a release does, with the version
// set by -ldflags -X, and checks that --version (and the iissim subcommand's
// --version) print it, on stdout, with exit status 0.
func TestVersion_Ldflags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	const want = "9.9.9-test"
	bin := filepath.Join(t.TempDir(), "nomad_iis")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	build := exec.Command(goBin, "build",
		"-ldflags", "-X github.com/nomad-iis/nomad-iis/version.Version="+want, "-o", bin, ".")
	out, err := build.CombinedOutput()
	must.NoError(t, err, must.Sprintf("go build: %s", out))

	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		must.NoError(t, err, must.Sprintf("%v: stderr: %s", args, stderr.String()))
		return string(out)
	}
	must.Eq(t, "nomad_iis "+want+"\n", run("--version"))
	must.Eq(t, "nomad_iis "+want+"\n", run("-version"))
	must.Eq(t, "nomad_iis "+want+"\n", run("--management-api-port=5004", "--version"))
	if runtime.GOOS != "windows" {
		must.Eq(t, "iissim "+want+"\n", run("iissim", "--version"))
	}
}
