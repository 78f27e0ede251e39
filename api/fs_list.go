package api

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"sort"
	"time"

	"github.com/nomad-iis/nomad-iis/api/fsroot"
)

// maxListEntries bounds one listing; a larger folder is reported truncated.
const maxListEntries = 10000

// fileObject describes a file or folder, after IIS.Administration's file
// objects.
type fileObject struct {
	Name string `json:"name"`
	// Path is relative to the task directory; use it in …/fs/{path}.
	Path string `json:"path"`
	// Type is "file", "directory", "link" (never followed) or "other".
	Type     string    `json:"type"`
	Size     int64     `json:"size"`
	Modified time.Time `json:"modified"`
	// ETag is the one a download of the file carries.
	ETag string `json:"etag,omitempty"`
}

// listing is the body of …/ls.
type listing struct {
	fileObject
	Entries   []fileObject `json:"entries,omitempty"`
	Truncated bool         `json:"truncated,omitempty"`
}

// handleList serves GET …/ls[/{path}]: a folder's entries with their
// metadata, or one file's metadata. The task directory's own listing leaves
// out secrets/ and private/.
func (s *Server) handleList(w http.ResponseWriter, r *http.Request, c *call) error {
	raw, ok := c.vars["path"]
	if !ok {
		return s.listTop(w, c)
	}
	_, loc, release, err := s.openTarget(c, raw, accessList)
	if err != nil {
		return err
	}
	defer release()
	fi, err := loc.Lstat()
	if err != nil {
		return err
	}
	out := listing{fileObject: describe(loc.Name, loc.Rel, fi)}
	if fi.IsDir() {
		dir, err := loc.OpenDir()
		if err != nil {
			return err
		}
		defer dir.Close()
		out.Entries, out.Truncated, err = entries(dir, loc.Rel, false)
		if err != nil {
			return err
		}
	}
	return writeJSON(w, out)
}

// listTop serves GET …/ls: the task directory's own listing.
func (s *Server) listTop(w http.ResponseWriter, c *call) error {
	tree, err := openTree(c.task)
	if err != nil {
		return err
	}
	defer tree.Close()
	fi, err := tree.Root().Stat(".")
	if err != nil {
		return fsroot.MapError(".", err)
	}
	out := listing{fileObject: describe("", "", fi)}
	out.Entries, out.Truncated, err = entries(tree.Root(), "", true)
	if err != nil {
		return err
	}
	return writeJSON(w, out)
}

// entries lists dir (whose path is rel), hiding the API's staging entries
// and, at the top of the task directory, secrets/ and private/.
func entries(dir *os.Root, rel string, top bool) ([]fileObject, bool, error) {
	d, err := dir.Open(".")
	if err != nil {
		return nil, false, fsroot.MapError(rel, err)
	}
	defer d.Close()
	des, err := d.ReadDir(maxListEntries + 1)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, false, fsroot.MapError(rel, err)
	}
	truncated := len(des) > maxListEntries
	if truncated {
		des = des[:maxListEntries]
	}
	out := make([]fileObject, 0, len(des))
	for _, de := range des {
		name := de.Name()
		if fsroot.IsReserved(name) || (top && fsroot.IsForbiddenTop(name)) {
			continue
		}
		fi, err := de.Info()
		if err != nil {
			continue // removed meanwhile
		}
		p := name
		if rel != "" {
			p = rel + "/" + name
		}
		out = append(out, describe(name, p, fi))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, truncated, nil
}

func describe(name, rel string, fi fs.FileInfo) fileObject {
	o := fileObject{Name: name, Path: rel, Modified: fi.ModTime().UTC()}
	switch m := fi.Mode(); {
	case m.IsDir():
		o.Type = "directory"
	case m.IsRegular():
		o.Type, o.Size = "file", fi.Size()
		o.ETag = fileETag(fi)
	case m&fs.ModeSymlink != 0:
		o.Type = "link"
	default:
		o.Type = "other"
	}
	return o
}
