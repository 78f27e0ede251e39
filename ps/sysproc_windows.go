//go:build windows

package ps

import (
	"syscall"

	"golang.org/x/sys/windows"
)

// sysProcAttr keeps the backend from opening a console window: the plugin
// runs as a service, and a PowerShell window per restart would be noise on
// an operator's desktop.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		HideWindow:    true,
		CreationFlags: windows.CREATE_NO_WINDOW,
	}
}
