//go:build !windows

package driver

import (
	"context"
	"errors"
	"os"
	"syscall"
	"time"
)

// openNonBlock is added to the flags of files the driver reads that a job
// may have replaced with a named pipe: the open returns at once instead of
// waiting for a writer.
const openNonBlock = syscall.O_NONBLOCK

// openFIFO opens the task's log FIFO for writing. The open does not block:
// without a reader it fails with ENXIO and is retried until ctx ends. The
// file is non-blocking, so writes wait in the runtime poller, honour write
// deadlines and end when the file is closed.
func openFIFO(ctx context.Context, path string) (logWriter, error) {
	retry := newBackoff()
	for {
		f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.ENXIO) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(retry.next()):
		}
	}
}
