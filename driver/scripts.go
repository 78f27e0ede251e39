package driver

import "errors"

// writeScripts writes the PowerShell backend's scripts into dir.
func writeScripts(dir string) error {
	return errors.New("the PowerShell scripts are not embedded in this build")
}
