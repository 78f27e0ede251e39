//go:build windows

package driver

import (
	"context"
	"time"

	winio "github.com/Microsoft/go-winio"
)

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
