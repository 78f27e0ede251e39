package api

import (
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
	raw, empty := c.vars["path"], false
	for _, suffix := range []string{"/*.*", "/*"} {
		if strings.HasSuffix(raw, suffix) {
			raw, empty = strings.TrimSuffix(raw, suffix), true
			break
		}
	}
	rel, err := fsroot.Clean(raw)
	if err != nil {
		return err
	}
	c.auditPath = rel
	if empty {
		c.auditPath += "/*"
	}
	release, err := s.locks.lockTask(c.task.TaskID, "delete "+rel)
	if err != nil {
		return err
	}
	defer release()
	tree, err := openTree(c.task)
	if err != nil {
		return err
	}
	defer tree.Close()
	loc, err := tree.Locate(rel, false)
	if err != nil {
		return err
	}
	defer loc.Close()
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
