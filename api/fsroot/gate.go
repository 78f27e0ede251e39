package fsroot

import (
	"path/filepath"
	"sync"
)

// gates holds one read/write gate per task directory (cleaned path ->
// *sync.RWMutex). Uploads hold it for writing while they apply their staged
// content; downloads take it for reading, so that a reader never sees a
// folder half way through an Apply (emptied, or with part of the new entries).
var gates sync.Map

func gateOf(dir string) *sync.RWMutex {
	g, _ := gates.LoadOrStore(filepath.Clean(dir), &sync.RWMutex{})
	return g.(*sync.RWMutex)
}

// ReadGate holds off the uploads to the tree (their Apply) until the
// returned function is called. Hold it while opening a file (an open file
// keeps its content), or for the whole walk of a folder.
func (t *Tree) ReadGate() (release func()) {
	g := gateOf(t.dir)
	g.RLock()
	var once sync.Once
	return func() { once.Do(g.RUnlock) }
}

// CommitGate holds off downloads of the tree (and other commits) until the
// returned function is called. Hold it around Staged.Apply; a caller that
// does slow work around the Apply, such as stopping the task's pools for a
// PUT, takes it first, so that the pools are never down while the Apply
// waits for a download to finish.
func (t *Tree) CommitGate() (release func()) {
	g := gateOf(t.dir)
	g.Lock()
	return g.Unlock
}
