package bench

import (
	"archive/zip"
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
)

// TreeSpec shapes the mixed tree of the transfer benchmarks.
type TreeSpec struct {
	// Binaries are incompressible files of unknown type (deflate is tried).
	Binaries, BinaryBytes int
	// Media are incompressible files of known compressed types (.jpg, .zip,
	// .woff2): stored, not deflated.
	Media, MediaBytes int
	// Texts are compressible text files (HTML, JS, CSS, logs).
	Texts, TextBytes int
	// Smalls are 4 KiB text files.
	Smalls int
}

// FullTree is the tree of `make bench`: 100 MiB of binaries, 60 MiB of
// media, 120 MiB of text and 6000 files of 4 KiB (303 MiB).
var FullTree = TreeSpec{Binaries: 25, BinaryBytes: 4 << 20, Media: 15, MediaBytes: 4 << 20, Texts: 60, TextBytes: 2 << 20, Smalls: 6000}

// QuickTree is an eighth of FullTree for smoke runs.
var QuickTree = TreeSpec{Binaries: 4, BinaryBytes: 4 << 20, Media: 2, MediaBytes: 4 << 20, Texts: 8, TextBytes: 2 << 20, Smalls: 750}

// Size is the total byte count of the tree.
func (s TreeSpec) Size() int64 {
	return int64(s.Binaries*s.BinaryBytes + s.Media*s.MediaBytes + s.Texts*s.TextBytes + s.Smalls*4096)
}

// Files is the number of files of the tree.
func (s TreeSpec) Files() int { return s.Binaries + s.Media + s.Texts + s.Smalls }

var words = []string{
	"the", "site", "pool", "request", "response", "nomad", "task", "driver", "binding", "worker",
	"function", "return", "const", "let", "var", "class", "div", "span", "margin", "padding",
	"color", "background", "width", "height", "display", "flex", "grid", "index", "html", "body",
	"GET", "POST", "200", "404", "500", "application", "json", "text", "content", "length",
	"user", "agent", "Mozilla/5.0", "Windows", "NT", "10.0", "x64", "AppleWebKit", "Chrome", "Safari",
	"if", "else", "for", "while", "import", "export", "default", "async", "await", "promise",
	"error", "warning", "info", "debug", "trace", "message", "event", "handler", "config", "value",
}

// writeText writes n bytes of word salad: compressible about as well as
// markup, scripts and logs are.
func writeText(w io.Writer, n int, r *rand.Rand) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	written := 0
	col := 0
	for written < n {
		word := words[r.IntN(len(words))]
		if written+len(word)+1 > n {
			word = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"[:max(0, n-written-1)]
		}
		sep := byte(' ')
		if col > 70 || r.IntN(16) == 0 {
			sep = '\n'
			col = 0
		}
		_, _ = bw.WriteString(word)
		_ = bw.WriteByte(sep)
		written += len(word) + 1
		col += len(word) + 1
	}
	return bw.Flush()
}

// writeRandom writes n incompressible bytes.
func writeRandom(w io.Writer, n int, r *rand.Rand) error {
	buf := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, len(buf))
		for i := 0; i+8 <= k; i += 8 {
			v := r.Uint64()
			buf[i], buf[i+1], buf[i+2], buf[i+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
			buf[i+4], buf[i+5], buf[i+6], buf[i+7] = byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56)
		}
		if _, err := w.Write(buf[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

func writeFile(path string, fill func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// MakeTree writes the mixed tree of spec under dir (deterministic content).
func MakeTree(dir string, spec TreeSpec) error {
	r := rand.New(rand.NewPCG(1, 2))
	mediaExt := []string{".jpg", ".zip", ".woff2", ".png", ".mp4"}
	textExt := []string{".html", ".js", ".css", ".log", ".json"}
	for i := range spec.Binaries {
		if err := writeFile(filepath.Join(dir, "bin", fmt.Sprintf("module%03d.dll", i)), func(w io.Writer) error { return writeRandom(w, spec.BinaryBytes, r) }); err != nil {
			return err
		}
	}
	for i := range spec.Media {
		if err := writeFile(filepath.Join(dir, "media", fmt.Sprintf("asset%03d%s", i, mediaExt[i%len(mediaExt)])), func(w io.Writer) error { return writeRandom(w, spec.MediaBytes, r) }); err != nil {
			return err
		}
	}
	for i := range spec.Texts {
		if err := writeFile(filepath.Join(dir, "text", fmt.Sprintf("page%03d%s", i, textExt[i%len(textExt)])), func(w io.Writer) error { return writeText(w, spec.TextBytes, r) }); err != nil {
			return err
		}
	}
	for i := range spec.Smalls {
		if err := writeFile(filepath.Join(dir, "small", fmt.Sprintf("d%02d", i/250), fmt.Sprintf("f%04d%s", i, textExt[i%len(textExt)])), func(w io.Writer) error { return writeText(w, 4096, r) }); err != nil {
			return err
		}
	}
	return nil
}

// MakeBigArchive writes a ZIP of at least size bytes for the memory check
// of uploads: size bytes of incompressible entries of 64 MiB (stored), then
// text deflated at the fastest level, like a site with its binaries and
// assets.
func MakeBigArchive(path string, size int64) error {
	r := rand.New(rand.NewPCG(3, 4))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	const chunk = 64 << 20
	for i := 0; int64(i)*chunk < size; i++ {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("bin/blob%03d.bin", i), Method: zip.Store})
		if err != nil {
			return err
		}
		if err := writeRandom(w, chunk, r); err != nil {
			return err
		}
	}
	for i := 0; int64(i)*(4<<20) < size/8; i++ {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: fmt.Sprintf("text/page%04d.html", i), Method: zip.Deflate})
		if err != nil {
			return err
		}
		if err := writeText(w, 4<<20, r); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return f.Close()
}
