package ziputil

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/api/fsroot"
)

type entry struct {
	name   string
	body   string
	mode   fs.FileMode
	method uint16
	// declared overrides the declared uncompressed size (raw entry).
	declared uint64
	flags    uint16
}

func build(t *testing.T, entries ...entry) *zip.Reader {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: e.method, Modified: time.Unix(1700000000, 0), Flags: e.flags}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		if e.declared != 0 || e.flags != 0 || (e.method != zip.Store && e.method != zip.Deflate) {
			h.CompressedSize64, h.UncompressedSize64 = uint64(len(e.body)), e.declared
			if e.declared == 0 {
				h.UncompressedSize64 = uint64(len(e.body))
			}
			w, err := zw.CreateRaw(h)
			must.NoError(t, err)
			_, err = io.WriteString(w, e.body)
			must.NoError(t, err)
			continue
		}
		w, err := zw.CreateHeader(h)
		must.NoError(t, err)
		_, err = io.WriteString(w, e.body)
		must.NoError(t, err)
	}
	must.NoError(t, zw.Close())
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	must.NoError(t, err)
	return zr
}

// TestValidate_HostileArchives is the table of archives an upload refuses
// before anything is written.
func TestValidate_HostileArchives(t *testing.T) {
	t.Parallel()
	zeros := strings.Repeat("\x00", 4<<20)
	many := make([]entry, 11)
	for i := range many {
		many[i] = entry{name: "f" + string(rune('a'+i)), body: "x"}
	}
	cases := []struct {
		name     string
		entries  []entry
		limits   Limits
		tooLarge bool
	}{
		{"slip with ..", []entry{{name: "../../evil.txt", body: "x"}}, Limits{}, false},
		{"slip inside", []entry{{name: "a/../../evil.txt", body: "x"}}, Limits{}, false},
		{"absolute", []entry{{name: "/etc/cron.d/evil", body: "x"}}, Limits{}, false},
		{"drive letter", []entry{{name: "C:/Windows/evil.dll", body: "x"}}, Limits{}, false},
		{"drive relative", []entry{{name: "C:evil", body: "x"}}, Limits{}, false},
		{"backslash slip", []entry{{name: `..\..\evil.txt`, body: "x"}}, Limits{}, false},
		{"UNC", []entry{{name: `\\server\share\x`, body: "x"}}, Limits{}, false},
		{"device name", []entry{{name: "bin/NUL.dll", body: "x"}}, Limits{}, false},
		{"alternate data stream", []entry{{name: "web.config:hidden", body: "x"}}, Limits{}, false},
		{"trailing dot alias", []entry{{name: "web.config.", body: "x"}}, Limits{}, false},
		{"dot segment", []entry{{name: "./index.html", body: "x"}}, Limits{}, false},
		{"empty name", []entry{{name: "", body: "x"}}, Limits{}, false},
		{"double slash", []entry{{name: "a//b", body: "x"}}, Limits{}, false},
		{"reserved staging name", []entry{{name: ".nomad-iis-x/a", body: "x"}}, Limits{}, false},
		{"symlink entry", []entry{{name: "link", body: "/etc/passwd", mode: fs.ModeSymlink | 0o777}}, Limits{}, false},
		{"device entry", []entry{{name: "dev", body: "", mode: fs.ModeDevice | 0o600}}, Limits{}, false},
		{"duplicate names", []entry{{name: "a.txt", body: "1"}, {name: "a.txt", body: "2"}}, Limits{}, false},
		{"duplicate names by case", []entry{{name: "Index.html", body: "1"}, {name: "index.HTML", body: "2"}}, Limits{}, false},
		{"file then folder of the same name", []entry{{name: "a", body: "1"}, {name: "a/b", body: "2"}}, Limits{}, false},
		{"folder then file of the same name", []entry{{name: "a/b", body: "2"}, {name: "A", body: "1"}}, Limits{}, false},
		{"encrypted", []entry{{name: "a.txt", body: "xxxx", flags: 0x1}}, Limits{}, false},
		{"unknown method", []entry{{name: "a.txt", body: "xxxx", method: 99}}, Limits{}, false},
		{"bomb by count", many, Limits{MaxEntries: 10}, true},
		{"bomb by declared size", []entry{{name: "a", body: "x", declared: 1 << 40}}, Limits{}, true},
		{"bomb by total size", []entry{{name: "a", body: strings.Repeat("a", 600)}, {name: "b", body: strings.Repeat("b", 600)}}, Limits{MaxTotalBytes: 1000}, true},
		{"bomb by ratio", []entry{{name: "zeros.bin", body: zeros, method: zip.Deflate}}, Limits{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			zr := build(t, tc.entries...)
			_, err := Validate(zr, tc.limits)
			var ze *Error
			must.True(t, errors.As(err, &ze), must.Sprintf("err = %v", err))
			must.Eq(t, tc.tooLarge, ze.TooLarge, must.Sprintf("err = %v", err))
		})
	}
}

func TestValidate_Accepts(t *testing.T) {
	t.Parallel()
	zr := build(t,
		entry{name: "index.html", body: "<h1>hi</h1>", method: zip.Deflate},
		entry{name: "css/", body: ""},
		entry{name: "css/site.css", body: "body{}", method: zip.Deflate},
		entry{name: "empty/", body: ""},
		entry{name: "a/b/c/d.txt", body: "deep"},
		entry{name: "A/x.txt", body: "same folder as a/, other case"},
	)
	m, err := Validate(zr, Limits{})
	must.NoError(t, err)
	must.Eq(t, 4, m.Files)
	must.Eq(t, 2, m.Dirs)
}

func TestExtract_RefusesLyingSizes(t *testing.T) {
	t.Parallel()
	// The header says 3 bytes, the data holds 10: archive/zip and Extract
	// both stop at the declared size.
	zr := build(t, entry{name: "a.txt", body: "0123456789", declared: 3})
	_, err := Validate(zr, Limits{})
	must.NoError(t, err)
	dst, err := os.OpenRoot(t.TempDir())
	must.NoError(t, err)
	defer dst.Close()
	_, err = Extract(context.Background(), zr, dst, unbounded)
	var ze *Error
	must.True(t, errors.As(err, &ze), must.Sprintf("err = %v", err))
}

func TestWriteDir_RoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	files := map[string]string{
		"index.html":       strings.Repeat("<p>hello</p>", 100),
		"img/logo.png":     "\x89PNG\r\n\x1a\n" + strings.Repeat("p", 200),
		"data/blob":        "PK\x03\x04" + strings.Repeat("z", 200),
		"sub/deep/x.txt":   "x",
		".nomad-iis-x.zip": "hidden",
	}
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		must.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	must.NoError(t, os.MkdirAll(filepath.Join(dir, "empty"), 0o755))
	must.NoError(t, os.Symlink("/etc/passwd", filepath.Join(dir, "link")))
	root, err := os.OpenRoot(dir)
	must.NoError(t, err)
	defer root.Close()
	var buf bytes.Buffer
	st, err := WriteDir(&buf, root.FS())
	must.NoError(t, err)
	must.Eq(t, 4, st.Files)
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	must.NoError(t, err)
	got := map[string]*zip.File{}
	for _, f := range zr.File {
		got[f.Name] = f
	}
	must.MapContainsKeys(t, got, []string{"index.html", "img/logo.png", "data/blob", "sub/deep/x.txt", "empty/", "img/", "sub/", "sub/deep/"})
	must.MapNotContainsKeys(t, got, []string{"link", ".nomad-iis-x.zip"})
	must.Eq(t, zip.Deflate, got["index.html"].Method)
	must.Eq(t, zip.Store, got["img/logo.png"].Method)
	must.Eq(t, zip.Store, got["data/blob"].Method, must.Sprint("recognised by its first bytes"))
	rc, err := got["index.html"].Open()
	must.NoError(t, err)
	b, err := io.ReadAll(rc)
	must.NoError(t, err)
	must.Eq(t, files["index.html"], string(b))
}

func TestIsCompressed(t *testing.T) {
	t.Parallel()
	random := make([]byte, 16)
	_, _ = rand.Read(random)
	must.True(t, IsCompressed("a.JPG", nil))
	must.True(t, IsCompressed("a.bin", []byte{0x1f, 0x8b, 8, 0}))
	must.True(t, IsCompressed("a.bin", []byte("RIFF\x00\x00\x00\x00WEBPVP8 ")))
	must.True(t, IsCompressed("movie", []byte("\x00\x00\x00\x18ftypmp42")))
	must.False(t, IsCompressed("a.txt", []byte("hello world, text")))
}

// TestValidate_PathLimits: an entry's path under the folder it is extracted
// into is held to the API's limits, so that the API can address every file
// it extracts.
func TestValidate_PathLimits(t *testing.T) {
	t.Parallel()
	deep := func(levels int) string { return strings.Repeat("d/", levels-1) + "f" }
	long := func(n int) string {
		// Segments of 200 bytes, then one that brings the path to n bytes.
		seg := strings.Repeat("a", 200)
		var b strings.Builder
		for b.Len()+len(seg)+1 < n-1 {
			b.WriteString(seg + "/")
		}
		b.WriteString(strings.Repeat("b", n-b.Len()))
		return b.String()
	}
	const dir = "local/site"
	cases := []struct {
		name   string
		entry  string
		dir    string
		refuse string // part of the reason, "" when accepted
	}{
		{"at the depth limit", deep(fsroot.MaxDepth), "", ""},
		{"past the depth limit", deep(fsroot.MaxDepth + 1), "", fmt.Sprintf("the limit is %d levels", fsroot.MaxDepth)},
		{"folder past the depth limit", strings.Repeat("d/", fsroot.MaxDepth+1), "", fmt.Sprintf("the limit is %d levels", fsroot.MaxDepth)},
		{"a 1,500-level path", deep(1500), "", fmt.Sprintf("the limit is %d levels", fsroot.MaxDepth)},
		{"at the depth limit under the folder", deep(fsroot.MaxDepth - 2), dir, ""},
		{"past the depth limit under the folder", deep(fsroot.MaxDepth - 1), dir, fmt.Sprintf("the limit is %d levels", fsroot.MaxDepth)},
		{"at the length limit", long(fsroot.MaxPathLength), "", ""},
		{"past the length limit", long(fsroot.MaxPathLength + 1), "", fmt.Sprintf("the limit is %d bytes per path", fsroot.MaxPathLength)},
		{"at the length limit under the folder", long(fsroot.MaxPathLength - len(dir) - 1), dir, ""},
		{"past the length limit under the folder", long(fsroot.MaxPathLength - len(dir)), dir, fmt.Sprintf("the limit is %d bytes per path", fsroot.MaxPathLength)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := entry{name: tc.entry, body: "x"}
			if strings.HasSuffix(tc.entry, "/") {
				e.body = "" // a folder
			}
			_, err := Validate(build(t, e), Limits{Dir: tc.dir})
			if tc.refuse == "" {
				must.NoError(t, err)
				return
			}
			var ze *Error
			must.True(t, errors.As(err, &ze), must.Sprintf("err = %v", err))
			must.StrContains(t, ze.Reason, tc.refuse)
			must.False(t, ze.TooLarge)
			must.StrHasPrefix(t, tc.entry[:32], ze.Entry, must.Sprint("the error names the entry"))
			must.LessEq(t, 64+len("..."), len(ze.Entry), must.Sprint("the entry's name is truncated"))
		})
	}
}

// sharedDataZip writes, by hand, an archive of n Deflate entries whose
// central directory records all point at the one local header and deflate
// stream of body: a ZIP bomb that passes every per-entry check.
func sharedDataZip(t *testing.T, n int, body []byte) []byte {
	t.Helper()
	var comp bytes.Buffer
	fw, err := flate.NewWriter(&comp, flate.BestSpeed)
	must.NoError(t, err)
	_, err = fw.Write(body)
	must.NoError(t, err)
	must.NoError(t, fw.Close())
	crc := crc32.ChecksumIEEE(body)
	le := binary.LittleEndian
	var out []byte
	// Local file header (APPNOTE 4.3.7) and the data.
	out = le.AppendUint32(out, 0x04034b50)
	out = le.AppendUint16(out, 20)          // version needed
	out = le.AppendUint16(out, 0)           // flags
	out = le.AppendUint16(out, zip.Deflate) // method
	out = le.AppendUint32(out, 0)           // time, date
	out = le.AppendUint32(out, crc)         // crc-32
	out = le.AppendUint32(out, uint32(comp.Len()))
	out = le.AppendUint32(out, uint32(len(body)))
	out = le.AppendUint16(out, uint16(len("f00")))
	out = le.AppendUint16(out, 0) // extra length
	out = append(out, "f00"...)
	out = append(out, comp.Bytes()...)
	// Central directory (APPNOTE 4.3.12): n records, all at offset 0.
	cdStart := len(out)
	for i := range n {
		name := fmt.Sprintf("f%02d", i)
		out = le.AppendUint32(out, 0x02014b50)
		out = le.AppendUint16(out, 20)          // version made by
		out = le.AppendUint16(out, 20)          // version needed
		out = le.AppendUint16(out, 0)           // flags
		out = le.AppendUint16(out, zip.Deflate) // method
		out = le.AppendUint32(out, 0)           // time, date
		out = le.AppendUint32(out, crc)
		out = le.AppendUint32(out, uint32(comp.Len()))
		out = le.AppendUint32(out, uint32(len(body)))
		out = le.AppendUint16(out, uint16(len(name)))
		out = le.AppendUint16(out, 0) // extra length
		out = le.AppendUint16(out, 0) // comment length
		out = le.AppendUint16(out, 0) // disk number
		out = le.AppendUint16(out, 0) // internal attributes
		out = le.AppendUint32(out, 0) // external attributes
		out = le.AppendUint32(out, 0) // local header offset: the shared one
		out = append(out, name...)
	}
	cdSize := len(out) - cdStart
	// End of central directory (APPNOTE 4.3.16).
	out = le.AppendUint32(out, 0x06054b50)
	out = le.AppendUint32(out, 0) // disk numbers
	out = le.AppendUint16(out, uint16(n))
	out = le.AppendUint16(out, uint16(n))
	out = le.AppendUint32(out, uint32(cdSize))
	out = le.AppendUint32(out, uint32(cdStart))
	out = le.AppendUint16(out, 0) // comment length
	return out
}

// lowEntropy is n bytes that deflate about 4 times: well under the ratio
// limit, so that only the sharing of data makes a bomb of them.
func lowEntropy(n int) []byte {
	rng := mrand.New(mrand.NewPCG(1, 2))
	b := make([]byte, n)
	for i := 0; i < n; i += 32 {
		bits := rng.Uint64()
		for j := i; j < min(i+32, n); j++ {
			b[j] = "abcd"[bits&3]
			bits >>= 2
		}
	}
	return b
}

func TestValidate_RefusesOverlappingEntries(t *testing.T) {
	t.Parallel()
	data := sharedDataZip(t, 10, lowEntropy(1<<20))
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	must.NoError(t, err)
	_, err = Validate(zr, Limits{})
	var ze *Error
	must.True(t, errors.As(err, &ze), must.Sprintf("an archive of %d bytes that expands to 10 MiB: err = %v", len(data), err))
	must.StrContains(t, ze.Error(), `shares compressed data with entry "f0`)
	must.StrHasPrefix(t, "f0", ze.Entry)
}
