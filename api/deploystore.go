package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nomad-iis/nomad-iis/api/fsroot"
)

// The version folders of a zero-downtime deploy live in a store beside the
// folder the job configured for the application: for local/site, in
// local/.site.versions/v1, v2, ... The store's versions.json records them.
// The job's own folder is the version "initial"; it is never removed.
const (
	// storeSuffix ends the store's folder name.
	storeSuffix = ".versions"
	// storeFile is the store's record, written atomically.
	storeFile = "versions.json"
	// initialVersion names the folder the job configured.
	initialVersion = "initial"
)

// versionName matches the folders the store creates.
var versionName = regexp.MustCompile(`^v[1-9][0-9]{0,8}$`)

// deployVersion is one version of an application's content.
type deployVersion struct {
	// ID is "initial" or v1, v2, ...
	ID string `json:"id"`
	// CreatedAt is when the version was deployed (for "initial": when the
	// store was made, at the first deploy).
	CreatedAt time.Time `json:"createdAt"`
	// Bytes and Files are the extracted size of the version ("initial": not
	// measured, 0).
	Bytes int64 `json:"bytes"`
	Files int   `json:"files"`
	// Path is the folder, relative to the task directory.
	Path string `json:"path"`
}

// versionStore is the record of one application directory's versions.
type versionStore struct {
	// Original is the folder the job configured, relative to the task directory.
	Original string `json:"original"`
	// Current is the id of the version IIS serves.
	Current string `json:"current"`
	// Next numbers the next version.
	Next int `json:"next"`
	// Versions are the versions kept, oldest first; "initial" first.
	Versions []deployVersion `json:"versions"`

	// dir is the store's folder, relative to the task directory.
	dir string
}

// storeDirFor is the store of the application folder original.
func storeDirFor(original string) string {
	return path.Join(path.Dir(original), "."+path.Base(original)+storeSuffix)
}

// openStore reads the store that current (the folder IIS serves, relative
// to the task directory) belongs to, or starts one with current as its
// initial version. A current folder that is not the store's current
// version means someone changed IIS behind the API's back: 409.
func openStore(root *os.Root, current string) (*versionStore, error) {
	dir := storeDirFor(current)
	if parent := path.Dir(current); strings.HasSuffix(path.Base(parent), storeSuffix) {
		if _, err := root.Stat(path.Join(parent, storeFile)); err == nil {
			dir = parent
		}
	}
	st := &versionStore{dir: dir}
	data, err := root.ReadFile(path.Join(dir, storeFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &versionStore{dir: dir, Original: current, Current: initialVersion, Next: 1,
			Versions: []deployVersion{{ID: initialVersion, CreatedAt: time.Now().UTC(), Path: current}}}, nil
	case err != nil:
		return nil, fmt.Errorf("read the version record %s: %w", path.Join(dir, storeFile), err)
	}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, fmt.Errorf("read the version record %s: %w", path.Join(dir, storeFile), err)
	}
	cur := st.find(st.Current)
	if cur == nil || cur.Path != current {
		return nil, apiErr(http.StatusConflict, "the application serves %q, but the version record %s says %q is current; was it changed outside the Management API?", current, path.Join(dir, storeFile), st.Current)
	}
	return st, nil
}

// find returns the kept version id, or nil.
func (st *versionStore) find(id string) *deployVersion {
	for i := range st.Versions {
		if strings.EqualFold(st.Versions[i].ID, id) {
			return &st.Versions[i]
		}
	}
	return nil
}

// ids lists the kept versions, oldest first.
func (st *versionStore) ids() []string {
	out := make([]string, len(st.Versions))
	for i, v := range st.Versions {
		out[i] = v.ID
	}
	return out
}

// newVersionDir creates the folder of the next version and returns its id
// and path. A folder of that name left by an interrupted deploy is removed
// first: the record does not know it, so nothing serves it.
func (st *versionStore) newVersionDir(root *os.Root) (string, string, error) {
	id := "v" + strconv.Itoa(st.Next)
	dir := path.Join(st.dir, id)
	if err := root.MkdirAll(st.dir, 0o755); err != nil {
		return "", "", fmt.Errorf("create the version store %s: %w", st.dir, err)
	}
	if err := root.RemoveAll(dir); err != nil {
		return "", "", fmt.Errorf("remove the leftover %s: %w", dir, err)
	}
	if err := root.Mkdir(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("create %s: %w", dir, err)
	}
	return id, dir, nil
}

// previous is the newest kept version before the current one (by
// deployment time), or "" when there is none.
func (st *versionStore) previous() string {
	var best *deployVersion
	for i := range st.Versions {
		v := &st.Versions[i]
		if v.ID == st.Current {
			continue
		}
		if best == nil || v.CreatedAt.After(best.CreatedAt) {
			best = v
		}
	}
	if best == nil {
		return ""
	}
	return best.ID
}

// prune drops the versions beyond keep (the newest keep versions other
// than the current one stay; "initial" always stays) from the record and
// returns them; their folders are removed by removeFolders.
func (st *versionStore) prune(keep int) []deployVersion {
	var others []deployVersion
	for _, v := range st.Versions {
		if v.ID != st.Current && v.ID != initialVersion {
			others = append(others, v)
		}
	}
	slices.SortFunc(others, func(a, b deployVersion) int { return b.CreatedAt.Compare(a.CreatedAt) })
	if len(others) <= keep {
		return nil
	}
	drop := others[keep:]
	st.Versions = slices.DeleteFunc(st.Versions, func(v deployVersion) bool {
		return slices.ContainsFunc(drop, func(d deployVersion) bool { return d.ID == v.ID })
	})
	return drop
}

// removeFolders removes the folders of dropped versions and any version
// folder the record does not know (left by an interrupted deploy). It
// returns the ids removed; a folder that cannot be removed (a file still
// in use) is left for the next switch.
func (st *versionStore) removeFolders(root *os.Root, dropped []deployVersion) []string {
	removed := []string{}
	for _, v := range dropped {
		if versionName.MatchString(path.Base(v.Path)) && root.RemoveAll(v.Path) == nil {
			removed = append(removed, v.ID)
		}
	}
	entries, err := fs.ReadDir(root.FS(), st.dir)
	if err != nil {
		return removed
	}
	for _, e := range entries {
		if e.IsDir() && versionName.MatchString(e.Name()) && st.find(e.Name()) == nil {
			_ = root.RemoveAll(path.Join(st.dir, e.Name()))
		}
	}
	return removed
}

// save writes the record atomically (a temporary file renamed over it).
func (st *versionStore) save(root *os.Root) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	tmp := path.Join(st.dir, fsroot.StagingName(".json"))
	if err := root.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write the version record: %w", err)
	}
	if err := root.Rename(tmp, path.Join(st.dir, storeFile)); err != nil {
		_ = root.Remove(tmp)
		return fmt.Errorf("write the version record: %w", err)
	}
	return nil
}
