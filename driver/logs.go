package driver

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
)

// IIS has no console, so `nomad alloc logs` would show nothing. The driver
// forwards two files into the task's log pipes instead:
//
//   - stdout: the site's W3C request log (<iis_log_dir>/W3SVC<siteId>/u_ex*.log),
//     one line per request; for a task in a target website only the
//     requests to its own applications;
//   - stderr: the app's own log file, when the task sets app_log_file
//     (ASP.NET Core's stdoutLogFile, for example).
//
// Files are read by polling: what existed when forwarding started is read
// from where it ended then; files created later are read from their start.
// IIS itself buffers its request log (HTTP.sys flushes it every minute), so
// request lines arrive in batches on IIS; iissim writes them at once.

const (
	// finalFlushTimeout bounds the last read and write when a task ends.
	finalFlushTimeout = time.Second
	// fifoRetryMin and fifoRetryMax bound the pause between attempts to
	// open a log pipe whose reader is not there (yet): Nomad's log
	// collector starts before the task, but after a plugin restart it only
	// comes back with the Nomad client.
	fifoRetryMin = 50 * time.Millisecond
	fifoRetryMax = 5 * time.Second
)

// backoff doubles a pause from fifoRetryMin up to fifoRetryMax.
type backoff struct{ d time.Duration }

func newBackoff() *backoff { return &backoff{} }

func (b *backoff) next() time.Duration {
	if b.d == 0 {
		b.d = fifoRetryMin
	} else {
		b.d = min(2*b.d, fifoRetryMax)
	}
	return b.d
}

// logBaselines are the sizes of the log files that existed when forwarding
// was set up, by path.
type logBaselines struct {
	w3c map[string]int64
	app map[string]int64
}

// w3cPattern is the glob of a site's W3C log files.
func w3cPattern(logDir string, siteID int64) string {
	return filepath.Join(logDir, fmt.Sprintf("W3SVC%d", siteID), "u_ex*.log")
}

// snapshotSizes records the size of every regular file matching pattern.
// With a root, only files inside it count, as newAppLogTailer reads them.
func snapshotSizes(root, pattern string) map[string]int64 {
	if pattern == "" {
		return nil
	}
	matches, _ := filepath.Glob(pattern)
	out := make(map[string]int64, len(matches))
	for _, m := range matches {
		if root != "" {
			if f, err := openConfined(root, m); err == nil {
				if fi, err := f.Stat(); err == nil {
					out[m] = fi.Size()
				}
				_ = f.Close()
			}
			continue
		}
		if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() {
			out[m] = fi.Size()
		}
	}
	return out
}

// logWriter is an open log pipe of the task.
type logWriter interface {
	io.WriteCloser
	SetWriteDeadline(t time.Time) error
}

// runLogForwarder opens the task's log pipe at fifoPath (keeping it open is
// what Nomad's log collector waits for) and copies src's new lines into it
// every interval, until the task ends or its handle is destroyed. When the
// collector goes away (the Nomad client restarts it), the pipe is opened
// again and the lines that could not be written are sent then. src may be
// nil: the pipe is then only held open.
func (h *taskHandle) runLogForwarder(fifoPath string, src *tailer, interval time.Duration) {
	defer h.wg.Done()
	for {
		w, err := openFIFO(h.ctx, fifoPath)
		if err != nil {
			if h.ctx.Err() == nil {
				h.logger.Warn("cannot open the task's log pipe", "path", fifoPath, "error", err)
			}
			return
		}
		err = h.forwardLogs(w, src, interval)
		// Closing the pipe when the task ends is what a process's exit
		// does: Nomad's log collector then finishes.
		_ = w.Close()
		if err == nil {
			return
		}
		h.logger.Debug("the task's log pipe closed; opening it again", "path", fifoPath, "error", err)
	}
}

// forwardLogs copies src into w until the task ends (nil, after a last
// copy) or a write fails (the error). Destroying the handle also ends a
// write that the pipe's reader does not take.
func (h *taskHandle) forwardLogs(w logWriter, src *tailer, interval time.Duration) error {
	if src == nil {
		select {
		case <-h.ctx.Done():
		case <-h.doneCh:
		}
		return nil
	}
	// A write blocked on a collector that stopped reading must not outlive
	// the handle: once it is destroyed, the write gets the deadline of the
	// last flush.
	stop := context.AfterFunc(h.ctx, func() { _ = w.SetWriteDeadline(time.Now().Add(finalFlushTimeout)) })
	defer stop()
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		if err := src.poll(w); err != nil {
			return err
		}
		select {
		case <-h.ctx.Done():
		case <-h.doneCh:
		case <-ticker.C:
			continue
		}
		_ = w.SetWriteDeadline(time.Now().Add(finalFlushTimeout))
		_ = src.poll(w)
		return nil
	}
}

// releaseLogPipes opens and closes the log pipes of a task that failed to
// start, as a process that exited at once would: Nomad's log collector
// then stops waiting for a writer.
func releaseLogPipes(ctx context.Context, cfg *drivers.TaskConfig) {
	for _, path := range []string{cfg.StdoutPath, cfg.StderrPath} {
		if path == "" {
			continue
		}
		octx, cancel := context.WithTimeout(ctx, finalFlushTimeout)
		if w, err := openFIFO(octx, path); err == nil {
			_ = w.Close()
		}
		cancel()
	}
}

// lineFilter decides, line by line, what of one file is forwarded. A
// filter may keep state from the lines it has seen; save returns a function
// that puts the current state back, for lines that must be read again.
type lineFilter interface {
	keep(line string) bool
	save() (restore func())
}

// tailer follows every file matching a glob and writes their new complete
// lines to a writer. It is used by one goroutine.
type tailer struct {
	pattern string
	// root, when set, confines the files read to that directory (the task
	// directory, for the app's own log): they are opened through an
	// os.Root, so a link that leaves it is not followed, and anything but a
	// regular file (a named pipe would block the open) is skipped unopened.
	root string
	// baseline are the sizes files had when forwarding started.
	baseline map[string]int64
	// newFilter makes the filter of one file; nil forwards every line.
	newFilter func() lineFilter
	// files are the files followed, by path.
	files map[string]*tailedFile
}

// tailedFile is the read position in one followed file.
type tailedFile struct {
	offset  int64
	partial []byte
	filter  lineFilter
}

// newTailer follows pattern from baseline.
func newTailer(pattern string, baseline map[string]int64, newFilter func() lineFilter) *tailer {
	return &tailer{pattern: pattern, baseline: baseline, newFilter: newFilter, files: map[string]*tailedFile{}}
}

// newAppLogTailer follows the app's own log files, pattern, confined to the
// task directory root: the job chooses what is there, so a link to another
// allocation's files or a named pipe must not be read.
func newAppLogTailer(root, pattern string, baseline map[string]int64) *tailer {
	t := newTailer(pattern, baseline, nil)
	t.root = root
	return t
}

// open opens path for reading, through the tailer's root when it has one.
func (t *tailer) open(path string) (*os.File, error) {
	if t.root == "" {
		return os.Open(path)
	}
	return openConfined(t.root, path)
}

// openConfined opens the regular file path, which must be inside root,
// through an os.Root at root: a link leaving root is refused, and a file
// that is not regular is refused without being opened.
func openConfined(root, path string) (*os.File, error) {
	rel, err := filepath.Rel(root, path)
	if err != nil || !filepath.IsLocal(rel) {
		return nil, fmt.Errorf("%s is not inside %s", path, root)
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if fi, err := r.Stat(rel); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	f, err := r.OpenFile(rel, os.O_RDONLY|openNonBlock, 0)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		_ = f.Close()
		return nil, fmt.Errorf("%s is not a regular file", path)
	}
	return f, nil
}

// poll writes what was appended to the followed files since the last poll.
// It returns only write errors: files that cannot be read are tried again.
func (t *tailer) poll(w io.Writer) error {
	matches, _ := filepath.Glob(t.pattern)
	sort.Strings(matches)
	for _, path := range matches {
		tf, ok := t.files[path]
		if !ok {
			tf = &tailedFile{offset: t.baseline[path]}
			if t.newFilter != nil {
				tf.filter = t.newFilter()
				if tf.offset > 0 {
					primeFilter(path, tf)
				}
			}
			t.files[path] = tf
		}
		if err := tf.read(t.open, path, w); err != nil {
			return err
		}
	}
	return nil
}

// readChunk is how much of a file is read at once.
const readChunk = 64 << 10

// read copies the complete new lines of path, opened with open, past
// tf.offset into w.
func (tf *tailedFile) read(open func(string) (*os.File, error), path string, w io.Writer) error {
	f, err := open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() < tf.offset {
		tf.offset, tf.partial = 0, nil // truncated or replaced
	}
	if _, err := f.Seek(tf.offset, io.SeekStart); err != nil {
		return nil
	}
	buf := make([]byte, readChunk)
	for {
		n, rerr := f.Read(buf)
		if n > 0 {
			offset, partial := tf.offset, tf.partial
			restore := func() {}
			if tf.filter != nil {
				restore = tf.filter.save()
			}
			tf.offset += int64(n)
			if err := tf.emit(buf[:n], w); err != nil {
				// Read the chunk again once the pipe is back, with the
				// filter as it was before it saw the chunk.
				tf.offset, tf.partial = offset, partial
				restore()
				return err
			}
		}
		if rerr != nil {
			return nil
		}
	}
}

// emit splits data into lines, keeps an unterminated tail for later and
// writes the lines the filter keeps.
func (tf *tailedFile) emit(data []byte, w io.Writer) error {
	data = append(append([]byte(nil), tf.partial...), data...)
	var out []byte
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(data[:i]), "\r")
		data = data[i+1:]
		if tf.filter != nil && !tf.filter.keep(line) {
			continue
		}
		out = append(append(out, line...), '\n')
	}
	tf.partial = append([]byte(nil), data...)
	if len(out) == 0 {
		return nil
	}
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("write to the log pipe: %w", err)
	}
	return nil
}

// primeFilter shows the filter the header lines of the part of path that
// is skipped, so that it knows the file's #Fields.
func primeFilter(path string, tf *tailedFile) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, tf.offset))
	sc.Buffer(make([]byte, 0, readChunk), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); strings.HasPrefix(line, "#") {
			tf.filter.keep(line)
		}
	}
}

// w3cFilter drops the W3C header lines except #Fields (forwarded when it
// changes) and, for a task in a target website, the requests that are not
// for the task's applications.
type w3cFilter struct {
	// prefixes are "/alias" paths, lower case; empty keeps every request.
	prefixes []string
	// uriField is the index of cs-uri-stem in the current #Fields, or -1.
	uriField   int
	lastFields string
}

// newW3CFilter returns a filter factory; aliases are the task's
// application aliases in a target website, or nil for an owned site.
func newW3CFilter(aliases []string) func() lineFilter {
	var prefixes []string
	for _, a := range aliases {
		prefixes = append(prefixes, "/"+strings.ToLower(strings.Trim(a, "/")))
	}
	return func() lineFilter { return &w3cFilter{prefixes: prefixes, uriField: -1} }
}

// save snapshots the current #Fields and the last one forwarded.
func (f *w3cFilter) save() func() {
	saved := *f
	return func() { *f = saved }
}

func (f *w3cFilter) keep(line string) bool {
	if strings.HasPrefix(line, "#") {
		fields, ok := strings.CutPrefix(line, "#Fields:")
		if !ok {
			return false
		}
		f.uriField = -1
		for i, name := range strings.Fields(fields) {
			if name == "cs-uri-stem" {
				f.uriField = i
			}
		}
		if line == f.lastFields {
			return false
		}
		f.lastFields = line
		return true
	}
	if strings.TrimSpace(line) == "" {
		return false
	}
	if len(f.prefixes) == 0 {
		return true
	}
	cols := strings.Fields(line)
	if f.uriField < 0 || f.uriField >= len(cols) {
		return false
	}
	uri := strings.ToLower(cols[f.uriField])
	for _, p := range f.prefixes {
		if uri == p || strings.HasPrefix(uri, p+"/") {
			return true
		}
	}
	return false
}
