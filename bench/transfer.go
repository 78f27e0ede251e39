package bench

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// apiClient talks to the benchmark server: keep-alive, no compression.
var apiClient = &http.Client{Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 64}}

// get sends an authenticated GET and returns the status and body size.
func get(url string) (int, int64, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("X-Api-Key", APIKey)
	resp, err := apiClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	n, err := readToEnd(resp.Body)
	if err != nil {
		return resp.StatusCode, n, err
	}
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, n, fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	return resp.StatusCode, n, nil
}

// readToEnd reads r to its end in 256 KiB reads and returns the byte
// count: a client that copies what it receives into its memory.
func readToEnd(r io.Reader) (int64, error) {
	// A plain writer, so that the copy uses the buffer (io.Discard's own
	// ReadFrom reads 8 KiB at a time); curl and browsers read in large
	// chunks too.
	return io.CopyBuffer(struct{ io.Writer }{io.Discard}, r, make([]byte, 256<<10))
}

// devNull runs name args with stdout to /dev/null (as a shell's `> /dev/null`).
func devNull(dir, name string, args ...string) error {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer null.Close()
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, null, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, stderr.String())
	}
	return nil
}

// countOutput runs name args and counts its stdout bytes.
func countOutput(dir, name string, args ...string) (int64, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, out)
	if werr := cmd.Wait(); werr != nil {
		return n, fmt.Errorf("%s: %w", name, werr)
	}
	return n, err
}

// timed runs f and returns how long it took.
func timed(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}

// FolderDownload compares GET …/fs/local/tree (a streamed ZIP) with
// `zip -r -q -1 - tree > /dev/null` on the same folder.
func FolderDownload(o Options, s *Server, tree TreeSpec) (Row, error) {
	local := filepath.Join(s.TaskDir, "local")
	url := s.URL("/fs/local/tree")
	// Warm the page cache with both, and measure the archive sizes.
	_, oursSize, err := get(url)
	if err != nil {
		return Row{}, err
	}
	theirsSize, err := countOutput(local, "zip", "-r", "-q", "-1", "-", "tree")
	if err != nil {
		return Row{}, err
	}
	var ours, theirs []float64
	for range o.Runs {
		d, err := timed(func() error { _, _, err := get(url); return err })
		if err != nil {
			return Row{}, err
		}
		ours = append(ours, float64(d))
		d, err = timed(func() error { return devNull(local, "zip", "-r", "-q", "-1", "-", "tree") })
		if err != nil {
			return Row{}, err
		}
		theirs = append(theirs, float64(d))
	}
	o.logf("folder download: ours %v, zip %v", ours, theirs)
	mo, mt := time.Duration(Median(ours)), time.Duration(Median(theirs))
	ratio := float64(mt) / float64(mo)
	sizeRatio := float64(oursSize) / float64(theirsSize)
	return Row{
		ID: "2", What: fmt.Sprintf("Folder download as ZIP (%s, %d files)", MiB(tree.Size()), tree.Files()),
		Ours:   fmt.Sprintf("%s (%s in %s), archive %s", MiBps(tree.Size(), mo), MiB(tree.Size()), Dur(mo), MiB(oursSize)),
		Theirs: fmt.Sprintf("%s (%s), archive %s (Info-ZIP `zip -r -q -1 -`)", MiBps(tree.Size(), mt), Dur(mt), MiB(theirsSize)),
		Ratio:  ratio, Target: "≥ 1.0× throughput, archive within 10 % of Info-ZIP's", Met: ratio >= 1 && sizeRatio <= 1.10,
		Note: fmt.Sprintf("Through the API over HTTP on 127.0.0.1, read to the end by the client; Info-ZIP writes to /dev/null. "+
			"Archive size ours/Info-ZIP: %.3f. The tree: incompressible .dll files (deflate tried), incompressible media "+
			"(.jpg, .zip, .woff2, .png, .mp4: stored by nomad-iis, deflated by Info-ZIP), text, and 4 KiB files; page cache warm.", sizeRatio),
	}, nil
}

// ZipUpload compares PATCH …/fs/local/up-N (a ZIP spooled, checked,
// extracted to a staging folder and swapped in) with `unzip -q -o` of the
// same archive into a fresh folder.
//
// Every sample extracts into a folder of its own, and all are removed only
// after the last one: ext4 does not reuse an inode for a while after its
// file is deleted, and allocating among thousands of just-freed inodes
// scans them one by one. Removing each extraction before the next made
// both sides measure that scan, by turns, rather than extraction.
func ZipUpload(o Options, s *Server, archive string, tree TreeSpec) (Row, error) {
	local := filepath.Join(s.TaskDir, "local")
	fi, err := os.Stat(archive)
	if err != nil {
		return Row{}, err
	}
	sample := 0
	upload := func() error { return put(s.URL(fmt.Sprintf("/fs/local/up-%d", sample)), archive, fi.Size()) }
	unzipDir := func() string { return filepath.Join(o.WorkDir, fmt.Sprintf("unzipped-%d", sample)) }
	unzip := func() error { return devNull(o.WorkDir, "unzip", "-q", "-o", archive, "-d", unzipDir()) }
	defer func() {
		for i := range sample + 1 {
			_ = os.RemoveAll(filepath.Join(local, fmt.Sprintf("up-%d", i)))
			_ = os.RemoveAll(filepath.Join(o.WorkDir, fmt.Sprintf("unzipped-%d", i)))
		}
	}()
	// One of each first, outside the measurement.
	for _, f := range []func() error{upload, unzip} {
		if err := f(); err != nil {
			return Row{}, err
		}
	}
	var ours, theirs []float64
	for range o.Runs {
		sample++
		// Each side starts with nothing dirty in the page cache, so that
		// neither pays for the writeback of the other's files.
		syscallSync()
		d, err := timed(upload)
		if err != nil {
			return Row{}, err
		}
		ours = append(ours, float64(d))
		syscallSync()
		d, err = timed(unzip)
		if err != nil {
			return Row{}, err
		}
		theirs = append(theirs, float64(d))
	}
	syscallSync()
	o.logf("zip upload: ours %v, unzip %v", ours, theirs)
	mo, mt := time.Duration(Median(ours)), time.Duration(Median(theirs))
	ratio := float64(mt) / float64(mo)
	return Row{
		ID: "3", What: fmt.Sprintf("ZIP upload + extract (%s archive of the same tree)", MiB(fi.Size())),
		Ours:   fmt.Sprintf("%s (%s)", MiBps(tree.Size(), mo), Dur(mo)),
		Theirs: fmt.Sprintf("%s (%s, `unzip -q -o`)", MiBps(tree.Size(), mt), Dur(mt)),
		Ratio:  ratio, Target: "≥ 1.0×", Met: ratio >= 1,
		Note: "The archive is Info-ZIP's `zip -r -q -1` of the tree. nomad-iis receives it over HTTP (PATCH, hot deploy), " +
			"spools it to disk, validates every entry, extracts into a staging folder and renames it into place; " +
			"unzip extracts from a local file. Throughput is of uncompressed bytes. `sync` runs before each sample (not timed), " +
			"so that neither side pays for the writeback of the other's files. Each sample extracts into a new folder and " +
			"all are removed at the end: on ext4, creating files among thousands deleted seconds before is dominated by " +
			"the inode allocator skipping the recently deleted ones, for both sides alike.",
	}, nil
}

// put uploads the file at path as a ZIP body.
func put(url, path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return sendZip(url, http.MethodPatch, f, size)
}

// sendZip sends size bytes of body as a ZIP with method to url and fails
// on any status but 200 OK.
func sendZip(url, method string, body io.Reader, size int64) error {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("X-Api-Key", APIKey)
	req.Header.Set("Content-Type", "application/zip")
	resp, err := apiClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: status %d: %s", method, url, resp.StatusCode, msg)
	}
	return nil
}

// UploadMemory uploads a large archive and reads the server's peak RSS.
func UploadMemory(o Options, s *Server, archive string) (Row, error) {
	fi, err := os.Stat(archive)
	if err != nil {
		return Row{}, err
	}
	base, err := s.RSS()
	if err != nil {
		return Row{}, err
	}
	if err := s.ResetPeakRSS(); err != nil {
		return Row{}, fmt.Errorf("reset the peak RSS: %w", err)
	}
	d, err := timed(func() error { return put(s.URL("/fs/local/big"), archive, fi.Size()) })
	if err != nil {
		return Row{}, err
	}
	peak, err := s.PeakRSS()
	if err != nil {
		return Row{}, err
	}
	if err := os.RemoveAll(filepath.Join(s.TaskDir, "local", "big")); err != nil {
		return Row{}, err
	}
	o.logf("upload memory: base %d, peak %d", base, peak)
	return Row{
		ID: "3", What: fmt.Sprintf("Peak RSS of the API process during a %s ZIP upload", MiB(fi.Size())),
		Ours: fmt.Sprintf("%s peak (%s before; upload took %s)", MiB(peak), MiB(base), Dur(d)), Theirs: "whole archive in memory (nomad-iis 0.20)",
		Target: "≤ 64 MiB", Met: peak <= 64<<20,
		Note: "VmHWM of the API server process (reset through /proc/<pid>/clear_refs before the upload), read after it; " +
			"the server runs in a child process, as the plugin does under Nomad.",
	}, nil
}
