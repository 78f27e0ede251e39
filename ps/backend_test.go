package ps_test

import (
	"path/filepath"
	"testing"

	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/ps"
)

func TestPowerShellCommand(t *testing.T) {
	t.Parallel()
	script := filepath.Join("scripts", "host.ps1")
	cases := []struct {
		name, exe, ext string
		wantPath       string
		wantArgs       []string
	}{
		{name: "defaults", wantPath: "powershell.exe",
			wantArgs: []string{"-NoLogo", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File", script}},
		{name: "pwsh with extensions", exe: "pwsh", ext: "ext dir",
			wantPath: "pwsh",
			wantArgs: []string{"-NoLogo", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File", script, "-ExtensionsDirectory", "ext dir"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path, args := ps.PowerShellCommand(tc.exe, "scripts", tc.ext)
			must.Eq(t, tc.wantPath, path)
			must.Eq(t, tc.wantArgs, args)
		})
	}
}

func TestSimCommand(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		self     []string
		ext      string
		wantPath string
		wantArgs []string
	}{
		{name: "iissim binary", self: []string{"/bin/iissim"}, wantPath: "/bin/iissim",
			wantArgs: []string{"host", "--state-dir", "/state"}},
		{name: "plugin subcommand with extensions", self: []string{"/bin/nomad_iis", "iissim"}, ext: "/ext",
			wantPath: "/bin/nomad_iis",
			wantArgs: []string{"iissim", "host", "--state-dir", "/state", "--extensions-dir", "/ext"}},
		{name: "no command", self: nil, wantPath: "", wantArgs: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path, args := ps.SimCommand(tc.self, "/state", tc.ext)
			must.Eq(t, tc.wantPath, path)
			must.Eq(t, tc.wantArgs, args)
		})
	}
}
