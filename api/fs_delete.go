package api

import (
	"fmt"
	"net/http"
	"strings"
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
	_, loc, release, err := s.openTarget(c, raw, a)
	if err != nil {
		return err
	}
	defer release()
	rel, empty := loc.Rel, a == accessClear
	res := deleteResult{Path: rel, Emptied: empty}
	if empty {
		res.Entries, err = loc.Clear()
	} else {
		err = loc.Remove()
	}
	if err != nil {
		return err
	}
	what := "deleted " + rel
	if empty {
		what = fmt.Sprintf("emptied %s (%d entries)", rel, res.Entries)
	}
	s.reg.Emit(c.task.TaskID, "Management API "+what)
	return writeJSON(w, res)
}
