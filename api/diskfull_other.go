//go:build !windows

package api

import (
	"errors"
	"syscall"
)

// isDiskFull reports whether err is the volume running out of space.
func isDiskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC)
}
