//go:build !windows

package fsroot

import (
	"errors"
	"syscall"
)

// copyDirSecurity copies the access rules of dir/from to dir/to. Only
// Windows ACLs need it; elsewhere permission bits come from the umask.
func copyDirSecurity(dir, from, to string) error { return nil }

// retryTransient runs op once: only Windows reports transient sharing
// violations (an antivirus scan, an indexer) on rename.
func retryTransient(op func() error) error { return op() }

// IsInUse reports whether err says a file is busy (held by another process).
func IsInUse(err error) bool {
	return errors.Is(err, syscall.EBUSY) || errors.Is(err, syscall.ETXTBSY)
}
