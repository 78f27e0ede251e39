//go:build !windows

package iissim

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// errLocked is returned by tryLock when another process holds the lock.
var errLocked = errors.New("locked by another process")

// tryLock takes an exclusive advisory lock on path without waiting. The
// lock lasts until the returned file is closed or the process exits.
func tryLock(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, errLocked
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}

// waitLock takes the lock, retrying until timeout.
func waitLock(path string, timeout time.Duration) (*os.File, error) {
	deadline := time.Now().Add(timeout)
	for {
		f, err := tryLock(path)
		if !errors.Is(err, errLocked) {
			return f, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("lock %s: still held after %s", path, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
