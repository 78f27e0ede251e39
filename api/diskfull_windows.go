//go:build windows

package api

import (
	"errors"

	"golang.org/x/sys/windows"
)

// isDiskFull reports whether err is the volume running out of space.
func isDiskFull(err error) bool {
	return errors.Is(err, windows.ERROR_DISK_FULL) || errors.Is(err, windows.ERROR_HANDLE_DISK_FULL)
}
