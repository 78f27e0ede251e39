//go:build windows

package driver

import (
	"context"
	"time"

	winio "github.com/Microsoft/go-winio"
)

// fifoRetryInterval is how often opening a log pipe is retried while its
// server (Nomad's log collector) is not there yet.
const fifoRetryInterval = 100 * time.Millisecond

// openFIFO connects to the task's log named pipe (\\.\pipe\...), retrying
// until ctx ends.
func openFIFO(ctx context.Context, path string) (logWriter, error) {
	for {
		conn, err := winio.DialPipeContext(ctx, path)
		if err == nil {
			return conn, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(fifoRetryInterval):
		}
	}
}
