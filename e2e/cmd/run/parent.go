package main

import (
	"context"
	"os"
	"runtime"
	"time"
)

// watchParent calls stop when the process that started this one exits.
// `go run` dies of a SIGTERM sent to it (it only ignores Ctrl-C), which
// would leave this program, and the agents, running without anyone to stop
// them; noticing the parent's end turns that into an orderly stop too.
func watchParent(ctx context.Context, stop func()) {
	if runtime.GOOS == "windows" {
		return // a Windows process keeps its parent's id after the parent exits
	}
	parent := os.Getppid()
	go func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if os.Getppid() != parent {
					stop()
					return
				}
			}
		}
	}()
}
