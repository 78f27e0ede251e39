package ziputil

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/flate"
)

// Extract writes the entries of zr, which Validate accepted, into dst (an
// empty staging folder). It does not trust the headers: each file is copied
// through a reader bounded by its declared size, and a file that turns out
// longer or shorter than declared (or fails its CRC) stops the extraction.
// ctx is checked between entries. Deflate entries are inflated with
// klauspost/compress (registered on zr).
//
// maxBytes bounds the bytes written in all (Limits.MaxExtracted gives it
// from the archive's real size): the bytes are counted as they are written,
// so entries with lying sizes or sharing data cannot pass it. The file that
// would pass it is refused with a TooLarge *Error.
//
// The folders are made first, in archive order; then several workers
// (extractWorkers) create the files, each taking runs of consecutive files
// of one folder. Inflating uses a core and creating a file waits on the
// file system: on 2 cores, two workers extract a site of small files in
// about half the time of one (BenchmarkExtract). The first error stops the
// other workers; the caller discards the staging folder.
func Extract(ctx context.Context, zr *zip.Reader, dst *os.Root, maxBytes int64) (written int64, err error) {
	return extract(ctx, zr, dst, maxBytes, extractWorkers())
}

// extractWorkers is how many files Extract writes at once: one per core,
// at least 2 (file creation also waits on the disk) and at most 8.
func extractWorkers() int { return min(max(runtime.GOMAXPROCS(0), 2), 8) }

// extractBatch is a run of consecutive files of one folder: the unit of
// work of a worker, so that it opens each folder once per run.
type extractBatch struct {
	dir   string
	files []*zip.File
}

// Batches end at a folder change or at these limits, so that one large
// folder still spreads over the workers.
const (
	batchMaxFiles = 32
	batchMaxBytes = 8 << 20
)

// extract is Extract with the number of workers given.
func extract(ctx context.Context, zr *zip.Reader, dst *os.Root, maxBytes int64, workers int) (int64, error) {
	zr.RegisterDecompressor(zip.Deflate, decompressor)
	batches, err := makeFolders(ctx, zr, dst)
	if err != nil {
		return 0, err
	}
	workCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	budget := &budget{max: maxBytes}
	var (
		written  atomic.Int64
		errOnce  sync.Once
		firstErr error
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err })
		cancel()
	}
	work := make(chan extractBatch)
	var wg sync.WaitGroup
	for range min(workers, max(len(batches), 1)) {
		wg.Go(func() {
			buf := make([]byte, 256<<10)
			dirs := dirCache{root: dst}
			defer dirs.close()
			for b := range work {
				dir, err := dirs.open(b.dir)
				if err != nil {
					fail(err)
					return
				}
				for _, f := range b.files {
					if workCtx.Err() != nil {
						return
					}
					// Names of files never end in "/" (makeFolders took those).
					n, err := extractFile(f, f.Name, dir, path.Base(f.Name), buf, budget)
					written.Add(n)
					if err != nil {
						fail(err)
						return
					}
				}
			}
		})
	}
feed:
	for _, b := range batches {
		select {
		case work <- b:
		case <-workCtx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		return written.Load(), firstErr
	}
	return written.Load(), ctx.Err()
}

// makeFolders creates every folder of the archive (folder entries and the
// parents of files) and returns the files in batches.
func makeFolders(ctx context.Context, zr *zip.Reader, dst *os.Root) ([]extractBatch, error) {
	made := map[string]bool{".": true}
	mkdir := func(name string) error {
		if made[name] {
			return nil
		}
		if err := dst.MkdirAll(name, 0o755); err != nil {
			return fmt.Errorf("create folder %q: %w", name, err)
		}
		made[name] = true
		return nil
	}
	var batches []extractBatch
	var size uint64
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(f.Name, "/")
		if strings.HasSuffix(f.Name, "/") || f.Mode().IsDir() {
			if err := mkdir(name); err != nil {
				return nil, err
			}
			continue
		}
		dir := path.Dir(name)
		if err := mkdir(dir); err != nil {
			return nil, err
		}
		last := len(batches) - 1
		if last < 0 || batches[last].dir != dir || len(batches[last].files) >= batchMaxFiles || size >= batchMaxBytes {
			batches = append(batches, extractBatch{dir: dir})
			last, size = last+1, 0
		}
		batches[last].files = append(batches[last].files, f)
		size += f.UncompressedSize64
	}
	return batches, nil
}

// flateReaders pools klauspost decompressors, which inflate markedly faster
// than compress/flate; an archive may hold thousands of entries.
var flateReaders sync.Pool

type pooledInflate struct{ r io.ReadCloser }

func (p *pooledInflate) Read(b []byte) (int, error) {
	if p.r == nil {
		return 0, errors.New("read after close")
	}
	return p.r.Read(b)
}

func (p *pooledInflate) Close() error {
	if p.r == nil {
		return nil
	}
	err := p.r.Close()
	flateReaders.Put(p.r)
	p.r = nil
	return err
}

// decompressor is the zip.Decompressor of Deflate entries.
func decompressor(r io.Reader) io.ReadCloser {
	if fr, ok := flateReaders.Get().(io.ReadCloser); ok {
		if err := fr.(flate.Resetter).Reset(r, nil); err == nil {
			return &pooledInflate{r: fr}
		}
	}
	return &pooledInflate{r: flate.NewReader(r)}
}

// dirCache holds the folder a worker last extracted into.
type dirCache struct {
	root *os.Root
	// name and dir are the cached folder ("" and nil for none).
	name string
	dir  *os.Root
}

// open returns a root at folder name of the archive (which makeFolders
// made); "." is the staging folder itself.
func (c *dirCache) open(name string) (*os.Root, error) {
	if name == "." {
		return c.root, nil
	}
	if c.dir != nil && c.name == name {
		return c.dir, nil
	}
	c.close()
	dir, err := c.root.OpenRoot(name)
	if err != nil {
		return nil, fmt.Errorf("open folder %q: %w", name, err)
	}
	c.name, c.dir = name, dir
	return dir, nil
}

func (c *dirCache) close() {
	if c.dir != nil {
		_ = c.dir.Close()
	}
	c.name, c.dir = "", nil
}

// budget counts the bytes the workers of one extraction write.
type budget struct {
	max  int64
	used atomic.Int64
}

// budgetWriter writes to w what the budget allows, and refuses the write
// that would pass it (before writing any of it) with a TooLarge *Error
// naming entry.
type budgetWriter struct {
	w     io.Writer
	b     *budget
	entry string
}

func (bw budgetWriter) Write(p []byte) (int, error) {
	if bw.b.used.Add(int64(len(p))) > bw.b.max {
		return 0, &Error{Entry: bw.entry, TooLarge: true, Reason: fmt.Sprintf(
			"takes the extracted bytes past %d, the archive's size times the ratio limit (a ZIP bomb?)", bw.b.max)}
	}
	return bw.w.Write(p)
}

// extractFile writes f as file base of dir; name is its path in the archive.
// What it writes counts against b.
func extractFile(f *zip.File, name string, dir *os.Root, base string, buf []byte, b *budget) (int64, error) {
	mode := os.FileMode(0o644)
	if f.Mode()&0o111 != 0 {
		mode = 0o755
	}
	rc, err := f.Open()
	if err != nil {
		return 0, &Error{Entry: f.Name, Reason: "cannot be read: " + err.Error()}
	}
	defer rc.Close()
	out, err := dir.OpenFile(base, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return 0, fmt.Errorf("create %q: %w", name, err)
	}
	want := f.UncompressedSize64
	n, err := io.CopyBuffer(budgetWriter{w: out, b: b, entry: f.Name}, io.LimitReader(rc, int64(want)+1), buf)
	if err == nil && uint64(n) != want {
		err = &Error{Entry: f.Name, Reason: fmt.Sprintf("holds %d bytes but declares %d", n, want)}
	}
	if err != nil && !isArchiveError(err) {
		// archive/zip reports a size or checksum mismatch as a read error.
		if errors.Is(err, zip.ErrFormat) || errors.Is(err, zip.ErrChecksum) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = &Error{Entry: f.Name, Reason: "is corrupt or does not match its declared size: " + err.Error()}
		} else {
			err = fmt.Errorf("write %q: %w", name, err)
		}
	}
	if cerr := out.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("write %q: %w", name, cerr)
	}
	if err != nil {
		return n, err
	}
	if !f.Modified.IsZero() {
		_ = dir.Chtimes(base, f.Modified, f.Modified)
	}
	return n, nil
}

func isArchiveError(err error) bool {
	var ae *Error
	return errors.As(err, &ae)
}
