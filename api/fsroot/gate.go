package fsroot

import (
	"fmt"
	"path/filepath"
	"sync"
	"time"
)

// CommitWait bounds how long a commit (an upload's or a delete's Apply)
// waits for the downloads that hold the tree's read gate: those opening
// their files, and those streaming a folder too large for a Snapshot. A commit that
// cannot go ahead in time gives up with a *GateBusyError instead of holding
// the task's lock, and the downloads waiting behind it, without limit.
const CommitWait = 30 * time.Second

// gates holds one gate per task directory (cleaned path -> *gate). Uploads
// hold it for committing while they apply their staged content; downloads
// take it for reading, so that a reader never sees a folder half way
// through an Apply (emptied, or with part of the new entries).
var gates sync.Map

func gateOf(dir string) *gate {
	g, _ := gates.LoadOrStore(filepath.Clean(dir), newGate())
	return g.(*gate)
}

// gate is a readers/writer lock whose writer waits with a deadline. A
// waiting writer holds off new readers (a stream of downloads cannot starve
// a deploy) until it gets the gate or gives up.
type gate struct {
	// mu guards every field below.
	mu      sync.Mutex
	readers int
	writer  bool
	// waiting counts the writers waiting for the gate.
	waiting int
	// wake is closed, and replaced, whenever the gate's state changes.
	wake chan struct{}
}

func newGate() *gate { return &gate{wake: make(chan struct{})} }

// signal wakes the waiters; the caller holds mu.
func (g *gate) signal() {
	close(g.wake)
	g.wake = make(chan struct{})
}

func (g *gate) rlock() {
	g.mu.Lock()
	for g.writer || g.waiting > 0 {
		wake := g.wake
		g.mu.Unlock()
		<-wake
		g.mu.Lock()
	}
	g.readers++
	g.mu.Unlock()
}

func (g *gate) runlock() {
	g.mu.Lock()
	g.readers--
	if g.readers == 0 {
		g.signal()
	}
	g.mu.Unlock()
}

// lock takes the gate for writing, or reports false after wait.
func (g *gate) lock(wait time.Duration) bool {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	g.mu.Lock()
	g.waiting++
	for g.writer || g.readers > 0 {
		wake := g.wake
		g.mu.Unlock()
		select {
		case <-wake:
		case <-timer.C:
			g.mu.Lock()
			g.waiting--
			g.signal() // the readers held off by this writer may go on
			g.mu.Unlock()
			return false
		}
		g.mu.Lock()
	}
	g.waiting--
	g.writer = true
	g.mu.Unlock()
	return true
}

func (g *gate) unlock() {
	g.mu.Lock()
	g.writer = false
	g.signal()
	g.mu.Unlock()
}

// ReadGate holds off the uploads to the tree (their Apply) until the
// returned function is called. Hold it while opening a file (an open file
// keeps its content) or taking a Snapshot of a folder, or for the whole
// walk of a folder too large for a snapshot. It waits only
// while a commit holds or waits for the gate, which CommitGate bounds.
func (t *Tree) ReadGate() (release func()) {
	g := gateOf(t.dir)
	g.rlock()
	var once sync.Once
	return func() { once.Do(g.runlock) }
}

// CommitGate holds off downloads of the tree (and other commits) until the
// returned function is called. Hold it around Staged.Apply; a caller that
// does slow work around the Apply, such as stopping the task's pools for a
// PUT, takes it first, so that the pools are never down while the Apply
// waits for a download to finish. It waits at most wait (CommitWait, or
// less) for the downloads in progress, then returns a *GateBusyError.
func (t *Tree) CommitGate(wait time.Duration) (release func(), err error) {
	g := gateOf(t.dir)
	if !g.lock(wait) {
		return nil, &GateBusyError{Waited: wait}
	}
	var once sync.Once
	return func() { once.Do(g.unlock) }, nil
}

// GateBusyError reports a commit that gave up waiting for the downloads of
// its tree.
type GateBusyError struct {
	// Waited is how long the commit waited.
	Waited time.Duration
}

// Error implements error.
func (e *GateBusyError) Error() string {
	return fmt.Sprintf("a download of this task's files has been in progress for %s; nothing was changed", e.Waited.Round(time.Millisecond))
}
