package ps

import "path/filepath"

// DefaultPowerShell is the backend executable used when none is configured:
// Windows PowerShell 5.1, because the WebAdministration module needs it.
const DefaultPowerShell = "powershell.exe"

// PowerShellCommand returns the command line of the PowerShell backend:
// exe (DefaultPowerShell when empty; "pwsh" also works) running host.ps1
// from scriptDir without a profile, a logo or prompts, and with the admin
// extension scripts of extensionsDir when it is not empty.
func PowerShellCommand(exe, scriptDir, extensionsDir string) (path string, args []string) {
	if exe == "" {
		exe = DefaultPowerShell
	}
	args = []string{
		"-NoLogo", "-NoProfile", "-NonInteractive",
		"-ExecutionPolicy", "Bypass",
		"-File", filepath.Join(scriptDir, "host.ps1"),
	}
	if extensionsDir != "" {
		args = append(args, "-ExtensionsDirectory", extensionsDir)
	}
	return exe, args
}

// SimCommand returns the command line of the iissim backend. self is the
// command that runs iissim (its binary, or nomad_iis and the hidden iissim
// subcommand); the backend keeps its state in stateDir and runs the hook
// executables of extensionsDir when it is not empty.
func SimCommand(self []string, stateDir, extensionsDir string) (path string, args []string) {
	if len(self) == 0 {
		return "", nil
	}
	args = append(args, self[1:]...)
	args = append(args, "host", "--state-dir", stateDir)
	if extensionsDir != "" {
		args = append(args, "--extensions-dir", extensionsDir)
	}
	return self[0], args
}
