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
)

// Extract writes the entries of zr, which Validate accepted, into dst (an
// empty staging folder). It does not trust the headers: each file is copied
// through a reader bounded by its declared size, and a file that turns out
// longer or shorter than declared (or fails its CRC) stops the extraction.
// ctx is checked between entries.
func Extract(ctx context.Context, zr *zip.Reader, dst *os.Root) (written int64, err error) {
	buf := make([]byte, 256<<10)
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
		if dir := path.Dir(name); dir != "." {
			if err := dst.MkdirAll(dir, 0o755); err != nil {
				return written, fmt.Errorf("create folder %q: %w", dir, err)
			}
		}
		n, err := extractFile(f, name, dst, buf)
		written += n
		if err != nil {
			return written, err
		}
	}
	return written, nil
}

func extractFile(f *zip.File, name string, dst *os.Root, buf []byte) (int64, error) {
	mode := os.FileMode(0o644)
	if f.Mode()&0o111 != 0 {
		mode = 0o755
	}
	rc, err := f.Open()
	if err != nil {
		return 0, &Error{Entry: f.Name, Reason: "cannot be read: " + err.Error()}
	}
	defer rc.Close()
	out, err := dst.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
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
		_ = dst.Chtimes(name, f.Modified, f.Modified)
	}
	return n, nil
}

func isArchiveError(err error) bool {
	var ae *Error
	return errors.As(err, &ae)
}
