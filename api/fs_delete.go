package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/nomad-iis/nomad-iis/api/fsroot"
)

// deleteResult is the body of a successful DELETE.
type deleteResult struct {
	Path string `json:"path"`
	// Emptied is true for "<folder>/*": the folder's content was removed and
	// the folder kept.
	Emptied bool `json:"emptied"`
	// Entries counts the entries removed from an emptied folder.
	Entries int `json:"entries,omitempty"`
}

// handleDelete serves DELETE …/fs/{path}: a file, or a folder with its
// content; "{folder}/*" (or "/*.*", as nomad-iis documents) empties the
// folder and keeps it.
func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request, c *call) error {
	raw, a := c.vars["path"], accessRemove
	for _, suffix := range []string{"/*.*", "/*"} {
		if strings.HasSuffix(raw, suffix) {
			raw, a = strings.TrimSuffix(raw, suffix), accessClear
			break
		}
	}
	tree, loc, release, err := s.openTarget(c, raw, a)
	if err != nil {
		return err
	}
	defer release()
	rel, empty := loc.Rel, a == accessClear
	res := deleteResult{Path: rel, Emptied: empty}
	// The target leaves view in renames under the commit gate, so that a
	// download never sees it half deleted and a failure changes nothing;
	// what was moved aside is deleted after the gate is released.
	commit, err := tree.CommitGate(commitWait(s.cfg))
	if err != nil {
		return err
	}
	var trash *fsroot.Trash
	if empty {
		trash, err = loc.TrashContent()
	} else {
		trash, err = loc.TrashTarget()
	}
	commit()
	if err != nil {
		return deleteError(err)
	}
	if !empty {
		s.dropPart(c.task, loc) // fs_range.go
	}
	if err := trash.Empty(); err != nil {
		// The target is gone; the trash is hidden and removed by the next
		// upload to the same folder.
		s.log.Warn("deleted files could not all be removed from disk yet", "path", rel, "error", err)
	}
	what := "deleted " + rel
	if empty {
		res.Entries = trash.Entries
		what = fmt.Sprintf("emptied %s (%d entries)", rel, res.Entries)
	}
	s.reg.Emit(c.task.TaskID, "Management API "+what)
	return writeJSON(w, res)
}

// deleteError keeps the status the cause of a failed delete maps to, and
// tells the client that nothing was changed and which entry was in the way.
func deleteError(err error) error {
	var ue *fsroot.UnchangedError
	if !errors.As(err, &ue) {
		return err
	}
	ae := classify(ue.Err)
	msg := ue.Error()
	if ae.HTTPStatus != http.StatusInternalServerError {
		msg += "; " + ae.Message
	}
	return &APIError{HTTPStatus: ae.HTTPStatus, RetryAfter: ae.RetryAfter, Message: msg, Err: err}
}
