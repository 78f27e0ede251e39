//go:build windows

package fsroot

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"golang.org/x/sys/windows"
)

// copyDirSecurity gives dir\to the protected DACL of dir\from, when from has
// one (the driver sets protected DACLs on local, tmp, ...). A folder whose
// DACL is inherited needs nothing: the new folder inherits the same rules.
// Both names are direct children of the task directory, which a task's pool
// identity cannot write to, so resolving them by path is safe.
func copyDirSecurity(dir, from, to string) error {
	src := filepath.Join(dir, from)
	sd, err := windows.GetNamedSecurityInfo(src, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read DACL: %w", err)
	}
	control, _, err := sd.Control()
	if err != nil {
		return fmt.Errorf("read security descriptor control: %w", err)
	}
	if control&windows.SE_DACL_PROTECTED == 0 {
		return nil
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("read DACL: %w", err)
	}
	info := windows.SECURITY_INFORMATION(windows.DACL_SECURITY_INFORMATION | windows.PROTECTED_DACL_SECURITY_INFORMATION)
	if err := windows.SetNamedSecurityInfo(filepath.Join(dir, to), windows.SE_FILE_OBJECT, info, nil, nil, dacl, nil); err != nil {
		return fmt.Errorf("write DACL: %w", err)
	}
	return nil
}

// retryTransient retries op for about half a second while Windows reports a
// sharing or lock violation, which an antivirus scan or the search indexer
// causes for a moment.
func retryTransient(op func() error) error {
	var err error
	for i := 0; i < 10; i++ {
		err = op()
		if err == nil || !isTransient(err) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return err
}

func isTransient(err error) bool {
	return errors.Is(err, windows.ERROR_SHARING_VIOLATION) ||
		errors.Is(err, windows.ERROR_LOCK_VIOLATION) ||
		errors.Is(err, windows.ERROR_ACCESS_DENIED)
}

// IsInUse reports whether err says a file is held open by another process
// (typically the worker process of a running pool).
func IsInUse(err error) bool {
	return errors.Is(err, windows.ERROR_SHARING_VIOLATION) || errors.Is(err, windows.ERROR_LOCK_VIOLATION)
}
