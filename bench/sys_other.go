//go:build !windows

package bench

import "syscall"

// mkfifo makes a named pipe, as Nomad's logmon does for a task's logs.
func mkfifo(path string) error { return syscall.Mkfifo(path, 0o600) }

// syscallSync flushes dirty pages to disk (sync(2)).
func syscallSync() { syscall.Sync() }
