package api

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Temporary download links: limits and the public route's prefix.
const (
	// DefaultLinkTTL is a link's lifetime when the request names none.
	DefaultLinkTTL = 5 * time.Minute
	// MaxLinkTTL bounds a link's lifetime.
	MaxLinkTTL = time.Hour
	// MaxLinks bounds the links held at once (all tasks together).
	MaxLinks = 1000
	// linkPrefix starts the public URL of every link.
	linkPrefix = "/api/v1/downloads/"
	// linkTokenBytes is the randomness of a link's token (256 bits).
	linkTokenBytes = 32
)

// linkRequest is the body of POST …/links.
type linkRequest struct {
	// Path is the file or folder the link serves.
	Path string `json:"path"`
	// TTLSeconds is the link's lifetime; 0 means DefaultLinkTTL.
	TTLSeconds int64 `json:"ttlSeconds,omitempty"`
	// OneUse makes the link serve one GET only.
	OneUse bool `json:"oneUse,omitempty"`
}

// linkInfo describes a link to an authenticated caller. URL is only set in
// the answer to the call that created the link: the token is never shown
// again.
type linkInfo struct {
	ID        string    `json:"id"`
	URL       string    `json:"url,omitempty"`
	Path      string    `json:"path"`
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires"`
	OneUse    bool      `json:"oneUse"`
	Uses      int       `json:"uses"`
	CreatedBy string    `json:"createdBy"`
}

// link is one temporary download link. Only the SHA-256 of its token is
// kept, so the table holds nothing that opens a download.
type link struct {
	info linkInfo
	// task is the task the link belongs to: the link dies with it (the
	// same alloc id, task name and task directory must still be there).
	task Task
}

// linkStore holds the links, in memory only: a plugin restart drops them.
type linkStore struct {
	mu     sync.Mutex
	byHash map[[sha256.Size]byte]*link
	// now is the clock (tests move it).
	now func() time.Time
}

func newLinkStore() *linkStore {
	return &linkStore{byHash: map[[sha256.Size]byte]*link{}, now: time.Now}
}

// errNoLink is the one answer for a token that opens nothing: unknown,
// expired, used, revoked, or its task gone.
var errNoLink = apiErr(http.StatusNotFound, "no such download link: it expired, was used or revoked, its task ended, or it never existed")

// add creates a link to path of t and returns it with its URL.
func (ls *linkStore) add(t Task, path string, ttl time.Duration, oneUse bool, by string) (linkInfo, error) {
	var tok [linkTokenBytes]byte
	var id [8]byte
	if _, err := rand.Read(tok[:]); err != nil {
		return linkInfo{}, err
	}
	if _, err := rand.Read(id[:]); err != nil {
		return linkInfo{}, err
	}
	token := base64.RawURLEncoding.EncodeToString(tok[:])
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.pruneLocked(nil)
	if len(ls.byHash) >= MaxLinks {
		return linkInfo{}, &APIError{HTTPStatus: http.StatusTooManyRequests, RetryAfter: time.Minute,
			Message: "too many download links (" + itoa(MaxLinks) + "); revoke some or wait for them to expire"}
	}
	now := ls.now()
	l := &link{task: t, info: linkInfo{ID: hex.EncodeToString(id[:]), Path: path, Created: now.UTC(),
		Expires: now.Add(ttl).UTC(), OneUse: oneUse, CreatedBy: by}}
	ls.byHash[sha256.Sum256([]byte(token))] = l
	info := l.info
	info.URL = linkPrefix + token
	return info, nil
}

// use finds the live link of token and counts a use; a one-use link is
// removed by the use that consumes it (count false, for HEAD, neither
// counts nor consumes).
func (ls *linkStore) use(token string, count bool) (*link, error) {
	h := sha256.Sum256([]byte(token))
	ls.mu.Lock()
	defer ls.mu.Unlock()
	l, ok := ls.byHash[h]
	if !ok {
		return nil, errNoLink
	}
	if !ls.now().Before(l.info.Expires) {
		delete(ls.byHash, h)
		return nil, errNoLink
	}
	if count {
		l.info.Uses++
		if l.info.OneUse {
			delete(ls.byHash, h)
		}
	}
	cp := *l
	return &cp, nil
}

// list returns the live links of the task taskID, oldest first.
func (ls *linkStore) list(taskID string) []linkInfo {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	ls.pruneLocked(nil)
	out := []linkInfo{}
	for _, l := range ls.byHash {
		if l.task.TaskID == taskID {
			out = append(out, l.info)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Created.Before(out[j].Created) || (out[i].Created.Equal(out[j].Created) && out[i].ID < out[j].ID)
	})
	return out
}

// revoke removes the link id of the task taskID; false when there is none.
func (ls *linkStore) revoke(taskID, id string) bool {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	for h, l := range ls.byHash {
		if l.task.TaskID == taskID && l.info.ID == id {
			delete(ls.byHash, h)
			return true
		}
	}
	return false
}

// prune removes expired links and, with reg, the links whose task is gone.
func (ls *linkStore) prune(reg Registry) int {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return ls.pruneLocked(reg)
}

func (ls *linkStore) pruneLocked(reg Registry) int {
	now, n := ls.now(), 0
	for h, l := range ls.byHash {
		if !now.Before(l.info.Expires) || (reg != nil && !alive(reg, l.task)) {
			delete(ls.byHash, h)
			n++
		}
	}
	return n
}

// liveTask returns the driver's current view of the task t while it still
// runs it (the same task directory under the same alloc id and task name).
func liveTask(reg Registry, t Task) (Task, bool) {
	cur, ok := reg.Lookup(t.AllocID, t.TaskName)
	return cur, ok && cur.TaskID == t.TaskID && cur.TaskDir == t.TaskDir
}

func alive(reg Registry, t Task) bool {
	_, ok := liveTask(reg, t)
	return ok
}

// handleLinkCreate serves POST …/links: a link to one file or folder of the
// task, fetchable without credentials until it expires.
func (s *Server) handleLinkCreate(w http.ResponseWriter, r *http.Request, c *call) error {
	var req linkRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxTransferBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return apiErr(http.StatusBadRequest, "the body must be a JSON object {\"path\", \"ttlSeconds\", \"oneUse\"}: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apiErr(http.StatusBadRequest, "the body must hold one JSON object and nothing after it")
	}
	ttl := DefaultLinkTTL
	if req.TTLSeconds != 0 {
		if req.TTLSeconds < 1 || req.TTLSeconds > int64(MaxLinkTTL/time.Second) {
			return apiErr(http.StatusBadRequest, "\"ttlSeconds\" is %d; allowed: 1 to %d (default %d)", req.TTLSeconds, int64(MaxLinkTTL/time.Second), int64(DefaultLinkTTL/time.Second))
		}
		ttl = time.Duration(req.TTLSeconds) * time.Second
	}
	if req.Path == "" {
		return apiErr(http.StatusBadRequest, "\"path\" (the file or folder to link to) is required")
	}
	// The target must exist and be readable now, under the same rules as
	// a download; the link re-checks them at every fetch.
	_, loc, release, err := s.openTarget(c, req.Path, accessList)
	if err != nil {
		return fieldErr("path", err)
	}
	defer release()
	f, err := loc.Open()
	if err != nil {
		return fieldErr("path", err)
	}
	_ = f.Close()
	info, err := s.links.add(c.task, loc.Rel, ttl, req.OneUse, c.principal.String())
	if err != nil {
		return err
	}
	c.auditNote = "link " + info.ID
	w.Header().Set("Location", info.URL)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	return json.NewEncoder(w).Encode(info)
}

// handleLinkList serves GET …/links: the task's live links, without their
// URLs.
func (s *Server) handleLinkList(w http.ResponseWriter, r *http.Request, c *call) error {
	return writeJSON(w, map[string]any{"links": s.links.list(c.task.TaskID)})
}

// handleLinkRevoke serves DELETE …/links/{id}.
func (s *Server) handleLinkRevoke(w http.ResponseWriter, r *http.Request, c *call) error {
	id := c.vars["id"]
	c.auditPath, c.auditNote = "", "link "+id
	if !s.links.revoke(c.task.TaskID, id) {
		return apiErr(http.StatusNotFound, "the task has no live download link %q", id)
	}
	return writeJSON(w, map[string]any{"id": id, "revoked": true})
}

// handleLinkDownload serves GET and HEAD /api/v1/downloads/{token}, without
// credentials: the token is the credential. The link's task must still
// run, and its path passes the rules of a download again.
func (s *Server) handleLinkDownload(w http.ResponseWriter, r *http.Request, c *call) error {
	w.Header().Set("Referrer-Policy", "no-referrer")
	l, err := s.links.use(c.vars["token"], r.Method != http.MethodHead)
	if err != nil {
		return err
	}
	c.principal = &Principal{Kind: "link#" + l.info.ID}
	t, ok := liveTask(s.reg, l.task)
	if !ok {
		s.links.revoke(l.task.TaskID, l.info.ID)
		return errNoLink
	}
	c.task = t
	c.vars["allocId"], c.vars["taskName"], c.vars["path"] = t.AllocID, t.TaskName, l.info.Path
	return s.handleDownload(w, r, c)
}

// logPath is the request's path for a log line, with a link's token
// replaced: the token opens a download, so it is never logged.
func logPath(r *http.Request) string {
	p := r.URL.EscapedPath()
	if strings.HasPrefix(p, linkPrefix) {
		return linkPrefix + "{token}"
	}
	return p
}

func itoa(n int) string { return strconv.Itoa(n) }
