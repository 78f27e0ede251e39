package testkit

import (
	"archive/zip"
	"bytes"
	"io/fs"
	"slices"
	"strings"
	"time"
)

// ZipEntry is one entry of an archive made by MakeZip.
type ZipEntry struct {
	Name string
	Body string
	// Mode is the entry's mode (0: the zip package's default, a regular
	// file).
	Mode fs.FileMode
	// Method is zip.Store (the zero value) or zip.Deflate.
	Method uint16
	// Size overrides the declared uncompressed size (0: the real one). Such
	// an entry is written raw and stored, so that its header can lie.
	Size uint64
}

// zipModified is the modification time of every entry, so that the same
// entries make the same bytes.
var zipModified = time.Unix(1700000000, 0)

// MakeZip returns an archive of the entries, in their order. It panics on an
// error, which only a malformed entry can cause: the archive is in memory.
func MakeZip(entries ...ZipEntry) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.Name, Method: e.Method, Modified: zipModified}
		if e.Mode != 0 {
			h.SetMode(e.Mode)
		}
		if e.Size != 0 {
			h.Method = zip.Store
			h.CompressedSize64 = uint64(len(e.Body))
			h.UncompressedSize64 = e.Size
			h.CRC32 = 0
			w, err := zw.CreateRaw(h)
			check(err)
			_, err = w.Write([]byte(e.Body))
			check(err)
			continue
		}
		w, err := zw.CreateHeader(h)
		check(err)
		_, err = w.Write([]byte(e.Body))
		check(err)
	}
	check(zw.Close())
	return buf.Bytes()
}

// ZipFiles returns name -> content as deflated entries sorted by name, for
// MakeZip.
func ZipFiles(files map[string]string) []ZipEntry {
	entries := make([]ZipEntry, 0, len(files))
	for name, body := range files {
		entries = append(entries, ZipEntry{Name: name, Body: body, Method: zip.Deflate})
	}
	slices.SortFunc(entries, func(a, b ZipEntry) int { return strings.Compare(a.Name, b.Name) })
	return entries
}

func check(err error) {
	if err != nil {
		panic("testkit: make a zip: " + err.Error())
	}
}
