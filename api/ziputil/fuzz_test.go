package ziputil

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nomad-iis/nomad-iis/api/fsroot"
)

// fuzzSeed builds an archive from name/body pairs; names ending in "/" are
// folders, mode sets special entry types.
func fuzzSeed(entries ...struct {
	name, body string
	mode       fs.FileMode
}) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: time.Unix(1700000000, 0)}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			panic(err)
		}
		_, _ = io.WriteString(w, e.body)
	}
	_ = zw.Close()
	return buf.Bytes()
}

type seedEntry = struct {
	name, body string
	mode       fs.FileMode
}

// FuzzValidateExtract feeds arbitrary bytes as an uploaded archive. An
// archive Validate accepts must extract entirely inside the staging folder:
// no entry escapes, no link is created, and the files are exactly the
// declared ones. Refusals are *Error values that name a reason.
func FuzzValidateExtract(f *testing.F) {
	f.Add(fuzzSeed(seedEntry{"index.html", "<h1>v2</h1>", 0}, seedEntry{"css/", "", 0}, seedEntry{"css/site.css", "body{}", 0}))
	f.Add(fuzzSeed(seedEntry{"../evil.txt", "x", 0}))
	f.Add(fuzzSeed(seedEntry{"a/../../evil.txt", "x", 0}))
	f.Add(fuzzSeed(seedEntry{"/etc/passwd", "x", 0}))
	f.Add(fuzzSeed(seedEntry{`..\evil.txt`, "x", 0}))
	f.Add(fuzzSeed(seedEntry{"C:/evil.txt", "x", 0}))
	f.Add(fuzzSeed(seedEntry{"file.txt:ads", "x", 0}))
	f.Add(fuzzSeed(seedEntry{"NUL.txt", "x", 0}))
	f.Add(fuzzSeed(seedEntry{"link", "../../secrets/token", fs.ModeSymlink | 0o777}))
	f.Add(fuzzSeed(seedEntry{"A.txt", "1", 0}, seedEntry{"a.TXT", "2", 0}))
	f.Add(fuzzSeed(seedEntry{"x", "1", 0}, seedEntry{"x/y", "2", 0}))
	f.Add(fuzzSeed(seedEntry{".nomad-iis-x", "1", 0}))
	f.Add(fuzzSeed(seedEntry{"big.bin", strings.Repeat("a", 4096), 0}))
	f.Add([]byte("PK\x05\x06" + strings.Repeat("\x00", 18)))
	f.Add([]byte("not a zip"))

	limits := Limits{MaxEntries: 64, MaxTotalBytes: 1 << 20, MaxRatio: 200}
	f.Fuzz(func(t *testing.T, data []byte) {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		m, err := Validate(zr, limits)
		if err != nil {
			var ze *Error
			if !errors.As(err, &ze) || ze.Reason == "" {
				t.Fatalf("Validate refused with %T %v, want an *Error with a reason", err, err)
			}
			return
		}
		for _, zf := range zr.File {
			checkEntryName(t, zf.Name)
		}
		if m.Files+m.Dirs != len(zr.File) || m.TotalBytes > limits.MaxTotalBytes {
			t.Fatalf("manifest %+v does not match %d entries within limits", m, len(zr.File))
		}

		// Extract into <dir>/stage; <dir> must hold nothing else afterwards.
		dir := t.TempDir()
		stage := filepath.Join(dir, "stage")
		if err := os.Mkdir(stage, 0o755); err != nil {
			t.Fatal(err)
		}
		root, err := os.OpenRoot(stage)
		if err != nil {
			t.Fatal(err)
		}
		defer root.Close()
		written, err := Extract(context.Background(), zr, root, limits.MaxExtracted(int64(len(data))))
		if uint64(written) > m.TotalBytes {
			t.Fatalf("extracted %d bytes, more than the %d declared", written, m.TotalBytes)
		}
		names, _ := os.ReadDir(dir)
		if len(names) != 1 || names[0].Name() != "stage" {
			t.Fatalf("extraction wrote outside the staging folder: %v", names)
		}
		_ = filepath.WalkDir(stage, func(p string, d fs.DirEntry, werr error) error {
			if werr != nil {
				return nil
			}
			if d.Type()&fs.ModeSymlink != 0 || !(d.Type().IsDir() || d.Type().IsRegular()) {
				t.Fatalf("extraction created %s of type %v", p, d.Type())
			}
			return nil
		})
		if err == nil && uint64(written) != m.TotalBytes {
			t.Fatalf("extraction succeeded with %d bytes, the archive declares %d", written, m.TotalBytes)
		}
	})
}

// checkEntryName asserts the properties of an accepted entry name, with
// rules written independently of Validate's.
func checkEntryName(t *testing.T, name string) {
	t.Helper()
	n := strings.TrimSuffix(name, "/")
	if n == "" || strings.HasPrefix(n, "/") || strings.ContainsAny(n, "\\:\x00") {
		t.Fatalf("accepted entry %q: empty, absolute, backslash, colon or NUL", name)
	}
	if !filepath.IsLocal(filepath.FromSlash(n)) {
		t.Fatalf("accepted entry %q is not local", name)
	}
	for _, s := range strings.Split(n, "/") {
		if s == "" || s == "." || s == ".." {
			t.Fatalf("accepted entry %q has an empty, . or .. segment", name)
		}
		if err := fsroot.CheckName(s); err != nil {
			t.Fatalf("accepted entry %q has a segment the path rules refuse: %v", name, err)
		}
	}
}
