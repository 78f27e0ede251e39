package api

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/nomad-iis/nomad-iis/api/fsroot"
	"github.com/nomad-iis/nomad-iis/api/ziputil"
)

// transferRequest is the body of POST …/copy and POST …/move.
type transferRequest struct {
	// From is the file or folder to copy or move.
	From string `json:"from"`
	// To is the folder to put it in (created when missing).
	To string `json:"to"`
	// Name is its new name; default: the name of From.
	Name string `json:"name,omitempty"`
	// Replace allows replacing an existing target.
	Replace bool `json:"replace,omitempty"`
}

// transferResult is the body of a successful copy or move.
type transferResult struct {
	Operation string `json:"operation"`
	From      string `json:"from"`
	Path      string `json:"path"`
	// Kind is "file" or "directory".
	Kind     string `json:"kind"`
	Created  bool   `json:"created"`
	Replaced bool   `json:"replaced"`
	// Files, Folders and Bytes count what a copy wrote (a move across
	// top-level folders is a copy); a rename writes nothing.
	Files   int   `json:"files"`
	Folders int   `json:"folders"`
	Bytes   int64 `json:"bytes"`
	// Skipped lists the entries a copy left out (links, special files),
	// relative to From.
	Skipped []string `json:"skipped"`
}

// maxTransferBody bounds the JSON body of a copy or move.
const maxTransferBody = 64 << 10

// decodeTransfer reads and checks the body of a copy or move, and returns
// the cleaned source and target paths.
func decodeTransfer(w http.ResponseWriter, r *http.Request) (req transferRequest, from, target string, err error) {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxTransferBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, "", "", apiErr(http.StatusBadRequest, "the body must be a JSON object {\"from\", \"to\", \"name\", \"replace\"} of at most %d bytes: %v", maxTransferBody, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return req, "", "", apiErr(http.StatusBadRequest, "the body must hold one JSON object and nothing after it")
	}
	if req.From == "" || req.To == "" {
		return req, "", "", apiErr(http.StatusBadRequest, "\"from\" (the file or folder) and \"to\" (the folder to put it in) are required")
	}
	if from, err = fsroot.Clean(req.From); err != nil {
		return req, "", "", fieldErr("from", err)
	}
	to, err := fsroot.Clean(req.To)
	if err != nil {
		return req, "", "", fieldErr("to", err)
	}
	name := req.Name
	if name == "" {
		name = from[strings.LastIndexByte(from, '/')+1:]
	} else if strings.Contains(name, "/") {
		return req, "", "", apiErr(http.StatusBadRequest, "\"name\" %q must be one name, without \"/\"; put the folder in \"to\"", name)
	} else if err := fsroot.CheckName(name); err != nil {
		return req, "", "", fieldErr("name", err)
	}
	if target, err = fsroot.Clean(to + "/" + name); err != nil {
		return req, "", "", fieldErr("to", err)
	}
	switch {
	case strings.EqualFold(target, from):
		return req, "", "", apiErr(http.StatusBadRequest, "\"from\" and the target %q are the same", target)
	case strings.HasPrefix(strings.ToLower(target), strings.ToLower(from)+"/"):
		return req, "", "", apiErr(http.StatusBadRequest, "the target %q is inside \"from\" %q; a folder cannot be copied or moved into itself", target, from)
	}
	return req, from, target, nil
}

// fieldErr names the body field a path error came from.
func fieldErr(field string, err error) error {
	ae := classify(err)
	return &APIError{HTTPStatus: ae.HTTPStatus, Message: fmt.Sprintf("%q: %s", field, ae.Message), Err: err}
}

// handleCopy serves POST …/copy.
func (s *Server) handleCopy(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.transfer(w, r, c, false)
}

// handleMove serves POST …/move.
func (s *Server) handleMove(w http.ResponseWriter, r *http.Request, c *call) error {
	return s.transfer(w, r, c, true)
}

// transfer copies or moves a file or folder inside the task directory. A
// move below one top-level folder is one rename; anything else is a copy
// into a staging entry next to the target, renamed into place (and, for a
// move, the source removed in the same commit). A replaced target is kept
// aside until the end and restored on failure.
func (s *Server) transfer(w http.ResponseWriter, r *http.Request, c *call, move bool) error {
	op := "copy"
	if move {
		op = "move"
	}
	c.auditNote = op
	req, from, target, err := decodeTransfer(w, r)
	if err != nil {
		return err
	}
	c.auditPath = from + " -> " + target
	if move && !strings.Contains(from, "/") {
		return apiErr(http.StatusForbidden, "%q is a top-level folder of the task directory; Nomad owns it, so it can be copied but not moved", from)
	}
	unlock, err := s.locks.lockTask(c.task.TaskID, op+" "+from)
	if err != nil {
		return err
	}
	defer unlock()
	tree, err := openTree(c.task)
	if err != nil {
		return err
	}
	defer tree.Close()
	src, err := tree.Locate(from, false)
	if err != nil {
		return fieldErr("from", err)
	}
	defer src.Close()
	fi, err := src.Lstat()
	if err != nil {
		return fieldErr("from", err)
	}
	dst, err := tree.Locate(target, true)
	if err != nil {
		return fieldErr("to", err)
	}
	defer dst.Close()
	done := false
	defer func() {
		if !done {
			dst.RemoveCreated()
		}
	}()
	if _, err := dst.Lstat(); err == nil && !req.Replace {
		return &fsroot.ExistsError{Path: target}
	}
	res := transferResult{Operation: op, From: from, Path: target, Kind: fsroot.Kind(fi.Mode()), Skipped: []string{}}
	if move && fsroot.SameTop(src, dst) {
		err = s.rename(tree, src, dst, req.Replace, &res)
	} else {
		err = s.copyInto(r, src, dst, tree, req.Replace, move, &res)
	}
	if err != nil {
		return err
	}
	done = true
	s.reg.Emit(c.task.TaskID, fmt.Sprintf("Management API %s %s to %s", map[bool]string{false: "copied", true: "moved"}[move], from, target))
	return writeJSON(w, res)
}

// rename moves src onto dst in one rename, under the tree's commit gate:
// a download never sees the change half made.
func (s *Server) rename(tree *fsroot.Tree, src, dst *fsroot.Loc, replace bool, res *transferResult) error {
	release, err := tree.CommitGate(commitWait(s.cfg))
	if err != nil {
		return err
	}
	defer release()
	r, err := src.MoveTo(dst, replace)
	res.Created, res.Replaced = r.Created, r.Replaced > 0
	return err
}

// copyInto copies src to dst within the copy limits and, for a move, removes
// src in the same commit as the copy is put in place.
func (s *Server) copyInto(r *http.Request, src, dst *fsroot.Loc, tree *fsroot.Tree, replace, move bool, res *transferResult) error {
	lim := fsroot.CopyLimits{MaxBytes: s.cfg.MaxUploadBytes, MaxEntries: int64(cmp.Or(s.cfg.MaxZipEntries, ziputil.DefaultMaxEntries))}
	st, err := src.Measure(r.Context(), lim)
	if err != nil {
		return copyError(err)
	}
	if err := checkFreeSpace(tree.Dir(), uint64(st.Bytes)); err != nil {
		return err
	}
	copied, err := dst.StageCopy(r.Context(), src, lim)
	if err != nil {
		return copyError(err)
	}
	defer copied.Discard()
	release, err := tree.CommitGate(commitWait(s.cfg))
	if err != nil {
		return err
	}
	placed, err := copied.Place(replace)
	if err != nil {
		release()
		return err
	}
	var trash *fsroot.Trash
	if move {
		if trash, err = src.TrashTarget(); err != nil {
			if rerr := placed.Revert(); rerr != nil {
				err = fmt.Errorf("%w; and undoing the copy failed: %v", err, rerr)
			}
			release()
			return deleteError(err)
		}
	}
	placed.Commit()
	release()
	if trash != nil {
		if err := trash.Empty(); err != nil {
			s.log.Warn("moved files could not all be removed from their old place yet", "path", src.Rel, "error", err)
		}
	}
	res.Created, res.Replaced = placed.Created, placed.Replaced > 0
	res.Files, res.Folders, res.Bytes = copied.Stats.Files, copied.Stats.Folders, copied.Stats.Bytes
	res.Skipped = append(res.Skipped, copied.Stats.Skipped...)
	return nil
}

// copyError maps a copy limit to 413.
func copyError(err error) error {
	var le *fsroot.LimitError
	if errors.As(err, &le) {
		limit := FlagMaxUpload
		if le.What == "entries" {
			limit = "the archive entry limit"
		}
		return &APIError{HTTPStatus: http.StatusRequestEntityTooLarge, Err: err, Message: le.Error() + "; the limit is " + limit + "; nothing was changed"}
	}
	return err
}
