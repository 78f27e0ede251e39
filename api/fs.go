package api

import (
	"errors"
	"io/fs"
	"net/http"
	"time"

	"github.com/nomad-iis/nomad-iis/api/fsroot"
)

// access is what a file route does with its target. It decides how
// openTarget holds the target against concurrent changes.
type access int

const (
	// accessList reads metadata; nothing is held.
	accessList access = iota
	// accessRead reads content under the tree's read gate, so that an
	// upload is never seen half applied.
	accessRead
	// accessWrite replaces the target under the task's lock; the missing
	// folders above it are created.
	accessWrite
	// accessRemove deletes the target under the task's lock.
	accessRemove
	// accessClear empties the target folder under the task's lock.
	accessClear
)

// commitWait is how long an upload or a delete waits for the downloads in
// progress before it gives up with 409: fsroot.CommitWait, or the request
// timeout if that is shorter.
func commitWait(cfg Config) time.Duration { return min(fsroot.CommitWait, cfg.RequestTimeout) }

// openTree opens the task directory, or reports it missing as a 404.
func openTree(t Task) (*fsroot.Tree, error) {
	tree, err := fsroot.Open(t.TaskDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, apiErr(http.StatusNotFound, "the task directory of %q does not exist (any more)", t.TaskName)
	}
	return tree, err
}

// openTarget is the prologue of every file route. It cleans raw (a path
// relative to the task directory) and records it for the audit line, takes
// the task's lock for a change or the read gate for a read, opens the task
// directory and locates the path in it. release undoes all of that in
// reverse order; it may be called early, and more than once.
func (s *Server) openTarget(c *call, raw string, a access) (tree *fsroot.Tree, loc *fsroot.Loc, release func(), err error) {
	rel, err := fsroot.Clean(raw)
	if err != nil {
		return nil, nil, nil, err
	}
	c.auditPath = rel
	if a == accessClear {
		c.auditPath += "/*"
	}
	var undo []func()
	release = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		undo = nil
	}
	fail := func(err error) (*fsroot.Tree, *fsroot.Loc, func(), error) {
		release()
		return nil, nil, nil, err
	}
	switch a {
	case accessWrite, accessRemove, accessClear:
		what := "delete " + rel
		if a == accessWrite {
			what = "upload to " + rel
		}
		unlock, err := s.locks.lockTask(c.task.TaskID, what)
		if err != nil {
			return fail(err)
		}
		undo = append(undo, unlock)
	}
	if tree, err = openTree(c.task); err != nil {
		return fail(err)
	}
	undo = append(undo, func() { _ = tree.Close() })
	if a == accessRead {
		// An upload's Apply waits while the target is opened (a folder's
		// files included: downloadDir takes a snapshot), so a download never
		// sees it half applied.
		undo = append(undo, tree.ReadGate())
	}
	if loc, err = tree.Locate(rel, a == accessWrite); err != nil {
		return fail(err)
	}
	undo = append(undo, loc.Close)
	return tree, loc, release, nil
}
