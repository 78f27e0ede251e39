package driver

import "github.com/nomad-iis/nomad-iis/scripts"

// writeScripts writes the PowerShell backend's embedded scripts into dir.
func writeScripts(dir string) error {
	return scripts.WriteTo(dir)
}
