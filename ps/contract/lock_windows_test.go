package contract

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// lockExclusive opens path with no sharing, so that no other process can
// read or write it, until the returned function closes it.
func lockExclusive(t *testing.T, path string) func() {
	t.Helper()
	name, err := windows.UTF16PtrFromString(path)
	if err != nil {
		t.Fatalf("lock %s: %v", path, err)
	}
	// IIS opens the file briefly from time to time: a sharing violation is
	// tried again for a while.
	var h windows.Handle
	for attempt := 0; ; attempt++ {
		h, err = windows.CreateFile(name, windows.GENERIC_READ, 0, nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
		if err == nil {
			break
		}
		if !errors.Is(err, windows.ERROR_SHARING_VIOLATION) || attempt == 50 {
			t.Fatalf("lock %s: %v", path, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	closed := false
	release := func() {
		if !closed {
			closed = true
			_ = windows.CloseHandle(h)
		}
	}
	t.Cleanup(release)
	return release
}
