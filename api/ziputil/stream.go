package ziputil

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"path"
	"strings"
	"sync"

	"github.com/klauspost/compress/flate"

	"github.com/nomad-iis/nomad-iis/api/fsroot"
)

// flateWriters pools klauspost compressors at BestSpeed: one costs about a
// megabyte, and a folder may hold thousands of files.
var flateWriters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(io.Discard, flate.BestSpeed)
	return w
}}

type pooledFlate struct{ w *flate.Writer }

func (p *pooledFlate) Write(b []byte) (int, error) { return p.w.Write(b) }

func (p *pooledFlate) Close() error {
	err := p.w.Close()
	flateWriters.Put(p.w)
	p.w = nil
	return err
}

func compressor(out io.Writer) (io.WriteCloser, error) {
	w := flateWriters.Get().(*flate.Writer)
	w.Reset(out)
	return &pooledFlate{w: w}, nil
}

// StreamStats describes a written archive.
type StreamStats struct {
	Files   int
	Dirs    int
	Bytes   int64
	Skipped []string
}

// WriteDir writes the tree of fsys (normally os.Root.FS of the folder) to w
// as a ZIP, streaming: nothing but one file's buffer and one compressor are
// held in memory. Folders become entries (empty ones too); links, devices and
// the API's staging entries are skipped. Files that are already compressed
// (by extension or by their first bytes) are stored, the rest deflated at
// the fastest level. A file that cannot be opened (deleted meanwhile, locked
// by another process) is skipped and listed in Skipped; an error once a
// file's bytes have started is returned, and the caller must abort the
// response since the archive is incomplete.
func WriteDir(w io.Writer, fsys fs.FS) (StreamStats, error) {
	var st StreamStats
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, compressor)
	buf := make([]byte, 128<<10)
	skip := func(p string) { st.Skipped = append(st.Skipped, p) }
	dir := func(p string, info fs.FileInfo) error {
		if p == "." {
			return nil
		}
		if _, err := zw.CreateHeader(&zip.FileHeader{Name: p + "/", Method: zip.Store, Modified: info.ModTime()}); err != nil {
			return err
		}
		st.Dirs++
		return nil
	}
	err := fsroot.WalkDownload(fsys, skip, dir, func(p string) error { return addFile(zw, fsys, p, buf, &st) })
	if err != nil {
		return st, err
	}
	return st, zw.Close()
}

func addFile(zw *zip.Writer, fsys fs.FS, p string, buf []byte, st *StreamStats) error {
	f, err := fsys.Open(p)
	if err != nil {
		st.Skipped = append(st.Skipped, p)
		return nil
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		st.Skipped = append(st.Skipped, p)
		return nil
	}
	hdr, err := zip.FileInfoHeader(info)
	if err != nil {
		return err
	}
	hdr.Name = p
	// Peek at the first bytes to recognise compressed formats with an unknown
	// extension; they are replayed in front of the rest of the file.
	head := buf[:16]
	n, rerr := io.ReadFull(f, head)
	if rerr != nil && !errors.Is(rerr, io.EOF) && !errors.Is(rerr, io.ErrUnexpectedEOF) {
		st.Skipped = append(st.Skipped, p)
		return nil
	}
	head = head[:n]
	hdr.Method = zip.Deflate
	if info.Size() < 64 || IsCompressed(p, head) {
		hdr.Method = zip.Store
	}
	out, err := zw.CreateHeader(hdr)
	if err != nil {
		return err
	}
	if _, err := out.Write(head); err != nil {
		return err
	}
	written, err := io.CopyBuffer(out, f, buf[16:])
	if err != nil {
		return err
	}
	st.Files++
	st.Bytes += written + int64(len(head))
	return nil
}

// compressedExt are extensions of formats that deflate cannot shrink.
var compressedExt = map[string]bool{
	".zip": true, ".gz": true, ".tgz": true, ".bz2": true, ".xz": true, ".zst": true, ".br": true,
	".7z": true, ".rar": true, ".lz": true, ".lz4": true, ".cab": true, ".jar": true, ".war": true,
	".nupkg": true, ".docx": true, ".xlsx": true, ".pptx": true, ".apk": true,
	".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".webp": true, ".avif": true, ".heic": true,
	".mp3": true, ".mp4": true, ".m4a": true, ".m4v": true, ".mov": true, ".webm": true, ".ogg": true,
	".mkv": true, ".avi": true, ".woff": true, ".woff2": true, ".pdf": true,
}

// magic are leading bytes of compressed formats.
var magic = [][]byte{
	{'P', 'K', 3, 4},                   // zip and its derivatives
	{0x1f, 0x8b},                       // gzip
	{0x28, 0xb5, 0x2f, 0xfd},           // zstd
	{0xfd, '7', 'z', 'X', 'Z', 0},      // xz
	{'7', 'z', 0xbc, 0xaf, 0x27, 0x1c}, // 7z
	{'B', 'Z', 'h'},                    // bzip2
	{'R', 'a', 'r', '!'},               // rar
	{0x89, 'P', 'N', 'G'},              // png
	{0xff, 0xd8, 0xff},                 // jpeg
	{'G', 'I', 'F', '8'},               // gif
	{'w', 'O', 'F', '2'},               // woff2
	{'w', 'O', 'F', 'F'},               // woff
}

// IsCompressed reports whether a file named name whose first bytes are head
// is already compressed, so that storing it beats deflating it.
func IsCompressed(name string, head []byte) bool {
	if compressedExt[strings.ToLower(path.Ext(name))] {
		return true
	}
	for _, m := range magic {
		if bytes.HasPrefix(head, m) {
			return true
		}
	}
	// RIFF....WEBP and ISO media (....ftyp) carry the tag at offset 8 or 4.
	if len(head) >= 12 && bytes.Equal(head[:4], []byte("RIFF")) && bytes.Equal(head[8:12], []byte("WEBP")) {
		return true
	}
	return len(head) >= 8 && bytes.Equal(head[4:8], []byte("ftyp"))
}
