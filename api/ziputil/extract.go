package ziputil

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"sync"

	"github.com/klauspost/compress/flate"
)

// Extract writes the entries of zr, which Validate accepted, into dst (an
// empty staging folder). It does not trust the headers: each file is copied
// through a reader bounded by its declared size, and a file that turns out
// longer or shorter than declared (or fails its CRC) stops the extraction.
// ctx is checked between entries. Deflate entries are inflated with
// klauspost/compress (registered on zr).
//
// Files are created through a root opened at their folder, kept open while
// consecutive entries share it (archives list a folder's files together):
// opening "a/b/c/file" through dst would walk and reopen every folder of the
// path for each file, which costs more than the file itself.
func Extract(ctx context.Context, zr *zip.Reader, dst *os.Root) (written int64, err error) {
	buf := make([]byte, 256<<10)
	zr.RegisterDecompressor(zip.Deflate, decompressor)
	dirs := dirCache{root: dst}
	defer dirs.close()
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return written, err
		}
		name := strings.TrimSuffix(f.Name, "/")
		if strings.HasSuffix(f.Name, "/") || f.Mode().IsDir() {
			if err := dst.MkdirAll(name, 0o755); err != nil {
				return written, fmt.Errorf("create folder %q: %w", name, err)
			}
			continue
		}
		dir, err := dirs.open(path.Dir(name))
		if err != nil {
			return written, err
		}
		n, err := extractFile(f, name, dir, path.Base(name), buf)
		written += n
		if err != nil {
			return written, err
		}
	}
	return written, nil
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

// dirCache holds the folder the last file was extracted into.
type dirCache struct {
	root *os.Root
	// name and dir are the cached folder ("" and nil for none).
	name string
	dir  *os.Root
}

// open returns a root at folder name of the archive (made if missing);
// "." is the staging folder itself.
func (c *dirCache) open(name string) (*os.Root, error) {
	if name == "." {
		return c.root, nil
	}
	if c.dir != nil && c.name == name {
		return c.dir, nil
	}
	c.close()
	if err := c.root.MkdirAll(name, 0o755); err != nil {
		return nil, fmt.Errorf("create folder %q: %w", name, err)
	}
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

// extractFile writes f as file base of dir; name is its path in the archive.
func extractFile(f *zip.File, name string, dir *os.Root, base string, buf []byte) (int64, error) {
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
	n, err := io.CopyBuffer(out, io.LimitReader(rc, int64(want)+1), buf)
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
