package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/disk"
)

// dumpTimeout bounds writing one dump; a full dump of a large worker takes a while.
const dumpTimeout = 10 * time.Minute

// dumper writes a memory dump of a process.
type dumper interface {
	// Dump writes a dump of pid into the empty folder dir and returns the
	// file's path and the extension to give it (".dmp", ".core").
	Dump(ctx context.Context, pid int, dir string) (path, ext string, err error)
}

// toolMissingError is a dump tool that is not installed; the API answers 503.
type toolMissingError struct{ msg string }

func (e *toolMissingError) Error() string { return e.msg }

// handleProcdump serves GET …/procdump[?appPoolName=][&pid=]: a full memory
// dump of one worker process of the pool (default: the task's default pool,
// its first worker), streamed and then deleted. One dump at a time.
func (s *Server) handleProcdump(w http.ResponseWriter, r *http.Request, c *call) error {
	alias := r.URL.Query().Get("appPoolName")
	if alias == "" {
		alias = c.task.DefaultAppPool
	}
	pools, err := taskPools(c.task, alias)
	if err != nil {
		return err
	}
	if len(pools) == 0 {
		return apiErr(http.StatusNotFound, "the task has no application pool")
	}
	pool := pools[0]
	wantPID := 0
	if v := r.URL.Query().Get("pid"); v != "" {
		if wantPID, err = strconv.Atoi(v); err != nil || wantPID <= 0 {
			return apiErr(http.StatusBadRequest, "pid=%q must be a process id", v)
		}
	}
	select {
	case s.dumpSem <- struct{}{}:
		defer func() { <-s.dumpSem }()
	default:
		return &APIError{HTTPStatus: http.StatusTooManyRequests, RetryAfter: 30 * time.Second,
			Message: "a process dump is already being written; one dump at a time, retry later"}
	}
	ctx, cancel := context.WithTimeout(r.Context(), dumpTimeout)
	defer cancel()
	states, err := s.iis.GetAppPools(ctx, pool.Name)
	if err != nil {
		return err
	}
	var pids []string
	pid := 0
	for _, st := range states {
		for _, wp := range st.WorkerProcesses {
			pids = append(pids, strconv.Itoa(wp.ProcessID))
			if pid == 0 && (wantPID == 0 || wp.ProcessID == wantPID) {
				pid = wp.ProcessID
			}
		}
	}
	switch {
	case len(pids) == 0:
		return apiErr(http.StatusConflict, "application pool %q has no worker process; start it or send the site a request first", pool.Alias)
	case pid == 0:
		return apiErr(http.StatusNotFound, "process %d is not a worker of application pool %q; its workers are: %s", wantPID, pool.Alias, strings.Join(pids, ", "))
	}
	c.auditPath, c.auditNote = pool.Alias, "pid "+strconv.Itoa(pid)
	dir, err := s.dumpDir(ctx, pid)
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	path, ext, err := s.dumper.Dump(ctx, pid, dir)
	if err != nil {
		var tm *toolMissingError
		if errors.As(err, &tm) {
			return &APIError{HTTPStatus: http.StatusServiceUnavailable, Message: "process dumps are unavailable: " + tm.msg, Err: err}
		}
		return fmt.Errorf("dump process %d: %w", pid, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open the dump: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("open the dump: %w", err)
	}
	s.log.Info("process dump written", "alloc_id", c.task.AllocID, "task_name", c.task.TaskName, "app_pool", pool.Alias,
		"pid", pid, "bytes", fi.Size(), "duration_ms", time.Since(start).Milliseconds())
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
	h.Set("Content-Disposition", attachment(fmt.Sprintf("procdump_%s_%s_%s%s", c.task.AllocID, c.task.TaskName, time.Now().Format("2006-01-02-15-04-05"), ext)))
	h.Set("Cache-Control", "no-store")
	setDownloadSafety(h)
	tr := newTransfer(w, s.cfg.TransferIdleTimeout)
	defer tr.done()
	_, err = io.Copy(tr.writer(w), f)
	return err
}

// dumpDir creates an empty folder for one dump, after checking that the
// volume has room for the process's resident memory.
func (s *Server) dumpDir(ctx context.Context, pid int) (string, error) {
	base := s.cfg.DumpDir
	if base == "" {
		base = os.TempDir()
	}
	if sm, ok := s.procs.sample(ctx, pid); ok {
		if u, err := disk.Usage(base); err == nil && u.Free < sm.MemoryBytes+(256<<20) {
			return "", &APIError{HTTPStatus: http.StatusInsufficientStorage,
				Message: fmt.Sprintf("the dump folder's volume has %d bytes free; process %d uses %d", u.Free, pid, sm.MemoryBytes)}
		}
	}
	dir, err := os.MkdirTemp(base, "nomad-iis-dump-*")
	if err != nil {
		return "", fmt.Errorf("create the dump folder: %w", err)
	}
	return dir, nil
}

// runTool runs a dump tool and returns its combined output.
func runTool(ctx context.Context, exe string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// lastLines returns the last n non-empty lines of s, joined by " / ".
func lastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " / ")
}
