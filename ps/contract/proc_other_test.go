//go:build !windows

package contract

import (
	"errors"
	"syscall"
)

// pidAlive reports whether a process exists.
func pidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// killProcess ends a process at once, as a crash would.
func killProcess(pid int) error {
	return syscall.Kill(pid, syscall.SIGKILL)
}
