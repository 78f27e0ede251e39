//go:build !windows

package iissim

import (
	"sync"
	"time"
)

// leases counts the requests a pool handed to one worker and that are not
// answered yet. WAS hands a request to a worker's queue and the worker
// answers it even while it is being recycled; the lease is iissim's record
// of that hand-over, so that a retired worker is told to exit only once its
// requests are answered.
type leases struct {
	mu sync.Mutex
	n  int
	// idle is closed when n drops to zero; nil when nobody waits.
	idle chan struct{}
}

// take records one request handed to the worker. The returned function
// records its answer; calling it more than once counts once.
func (l *leases) take() func() {
	l.mu.Lock()
	l.n++
	l.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			l.n--
			if l.n == 0 && l.idle != nil {
				close(l.idle)
				l.idle = nil
			}
		})
	}
}

// whenIdle returns a channel that is closed once no request is held.
func (l *leases) whenIdle() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == 0 {
		c := make(chan struct{})
		close(c)
		return c
	}
	if l.idle == nil {
		l.idle = make(chan struct{})
	}
	return l.idle
}

// retire ends a worker the pool no longer hands requests to, as WAS ends
// the old worker of an overlapped recycle: the worker first answers the
// requests it holds, then gets SIGTERM, and is killed when all of this
// takes longer than limit (processModel.shutdownTimeLimit). It returns at
// once.
func (w *workerProc) retire(limit time.Duration) {
	deadline := time.Now().Add(limit)
	go func() {
		t := time.NewTimer(limit)
		defer t.Stop()
		select {
		case <-w.leases.whenIdle():
		case <-t.C:
		case <-w.exited:
			return
		}
		w.terminate(max(time.Until(deadline), time.Second))
	}()
}
