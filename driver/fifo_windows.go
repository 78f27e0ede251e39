//go:build windows

package driver

import (
	"context"
	"time"

	winio "github.com/Microsoft/go-winio"
)

// openNonBlock is 0 on Windows: opening a named pipe there goes through
// \\.\pipe\, never through a path inside the task directory.
const openNonBlock = 0

// openFIFO connects to the task's log named pipe (\\.\pipe\...), retrying
// until ctx ends.
func openFIFO(ctx context.Context, path string) (logWriter, error) {
	retry := newBackoff()
	for {
		conn, err := winio.DialPipeContext(ctx, path)
		if err == nil {
			return conn, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(retry.next()):
		}
	}
}
