// Package ziputil reads and writes the ZIP archives of the Management API:
// Validate checks an uploaded archive's central directory before anything is
// written, Extract writes it into an os.Root while checking the real sizes,
// and Writer streams a folder as a ZIP with flat memory.
package ziputil

import (
	"archive/zip"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/nomad-iis/nomad-iis/api/fsroot"
)

// Limits bound what an uploaded archive may contain. Zero fields take the
// defaults below.
type Limits struct {
	// MaxEntries bounds the number of entries (files and folders).
	MaxEntries int
	// MaxTotalBytes bounds the sum of the declared uncompressed sizes.
	MaxTotalBytes uint64
	// MaxRatio bounds uncompressed/compressed, per entry and for the whole
	// archive, once the uncompressed size passes RatioFloorBytes. It also
	// bounds what Extract writes: see MaxExtracted.
	MaxRatio float64
	// Dir is the folder the archive is extracted into, relative to the task
	// directory ("" for the archive alone). Each entry's path under Dir is
	// held to the API's path limits (fsroot.MaxDepth levels and
	// fsroot.MaxPathLength bytes), so that the API can address every file
	// it extracts.
	Dir string
}

// Defaults of Limits.
const (
	DefaultMaxEntries    = 10000
	DefaultMaxTotalBytes = 8 << 30
	DefaultMaxRatio      = 200
	// RatioFloorBytes: smaller entries (and archives) are not ratio-checked;
	// tiny text files routinely compress well beyond any sensible cap.
	RatioFloorBytes = 1 << 20
)

// WithDefaults fills the zero fields of l.
func (l Limits) WithDefaults() Limits {
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	if l.MaxTotalBytes == 0 {
		l.MaxTotalBytes = DefaultMaxTotalBytes
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = DefaultMaxRatio
	}
	return l
}

// MaxExtracted is the most Extract may write for an archive of
// archiveBytes bytes: the archive's real size times MaxRatio (not less than
// RatioFloorBytes), and never more than MaxTotalBytes. Unlike Validate's
// ratio check it does not rely on the sizes the archive declares.
func (l Limits) MaxExtracted(archiveBytes int64) int64 {
	l = l.WithDefaults()
	limit := max(float64(archiveBytes)*l.MaxRatio, RatioFloorBytes)
	limit = min(limit, float64(l.MaxTotalBytes))
	if limit >= math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(limit)
}

// Manifest describes a validated archive.
type Manifest struct {
	Files      int
	Dirs       int
	TotalBytes uint64
}

// Error is a refused archive. TooLarge is set for the limits (count, size,
// ratio), which the API reports as 413; other refusals are 400.
type Error struct {
	Entry    string
	Reason   string
	TooLarge bool
}

// Error implements error.
func (e *Error) Error() string {
	if e.Entry == "" {
		return "archive refused: " + e.Reason
	}
	return fmt.Sprintf("archive refused: entry %q %s", e.Entry, e.Reason)
}

// Validate checks every entry of zr before anything is extracted: names (the
// path rules of fsroot.CheckName on every segment; no absolute, "..", drive,
// device or backslash names), duplicates and file/folder clashes (compared
// case-insensitively, as Windows does), entry types (no links or devices),
// encryption, compression methods, the path limits of fsroot (under l.Dir),
// entries whose data overlap (several entries inflating the same bytes),
// the entry count, the total declared size and the compression ratio.
func Validate(zr *zip.Reader, l Limits) (*Manifest, error) {
	l = l.WithDefaults()
	if len(zr.File) > l.MaxEntries {
		return nil, &Error{Reason: fmt.Sprintf("has %d entries; the limit is %d", len(zr.File), l.MaxEntries), TooLarge: true}
	}
	m := &Manifest{}
	kinds := make(map[string]bool, len(zr.File)) // upper-cased name -> isDir
	var compressed uint64
	var spans []span
	for _, f := range zr.File {
		name, isDir, err := entryName(f)
		if err != nil {
			return nil, err
		}
		if err := checkPathLimits(f, name, l.Dir); err != nil {
			return nil, err
		}
		if err := checkEntry(f, isDir, l); err != nil {
			return nil, err
		}
		key := strings.ToUpper(name)
		if prev, ok := kinds[key]; ok && !(prev && isDir) {
			return nil, &Error{Entry: f.Name, Reason: "appears twice (names are compared case-insensitively, as on Windows)"}
		}
		kinds[key] = isDir
		// Every parent must be a folder, never a file of the same name.
		for dir := parentOf(key); dir != ""; dir = parentOf(dir) {
			if prevDir, ok := kinds[dir]; ok && !prevDir {
				return nil, &Error{Entry: f.Name, Reason: "is inside a name the archive also holds as a file"}
			}
			if _, ok := kinds[dir]; ok {
				break
			}
			kinds[dir] = true
		}
		if isDir {
			m.Dirs++
			continue
		}
		m.Files++
		if f.UncompressedSize64 > l.MaxTotalBytes-m.TotalBytes {
			return nil, &Error{Reason: fmt.Sprintf("declares more than %d bytes once extracted", l.MaxTotalBytes), TooLarge: true}
		}
		m.TotalBytes += f.UncompressedSize64
		compressed += f.CompressedSize64
		if f.CompressedSize64 > 0 {
			off, err := f.DataOffset()
			if err != nil {
				return nil, &Error{Entry: f.Name, Reason: "has a local header that cannot be read: " + err.Error()}
			}
			end := uint64(off) + f.CompressedSize64
			if end < uint64(off) {
				end = math.MaxUint64 // a size that wraps around is past any archive's end
			}
			spans = append(spans, span{f: f, start: uint64(off), end: end})
		}
	}
	if err := checkOverlaps(spans); err != nil {
		return nil, err
	}
	if m.TotalBytes >= RatioFloorBytes && float64(m.TotalBytes) > l.MaxRatio*float64(max(compressed, 1)) {
		return nil, &Error{Reason: fmt.Sprintf("expands %.0f times; the limit is %.0f (a ZIP bomb?)", float64(m.TotalBytes)/float64(max(compressed, 1)), l.MaxRatio), TooLarge: true}
	}
	return m, nil
}

// entryName returns the cleaned name of f, and whether it is a folder.
func entryName(f *zip.File) (string, bool, error) {
	name := f.Name
	isDir := strings.HasSuffix(name, "/")
	if isDir {
		name = strings.TrimSuffix(name, "/")
	}
	if name == "" {
		return "", false, &Error{Entry: f.Name, Reason: "has an empty name"}
	}
	if strings.HasPrefix(name, "/") || (len(name) >= 2 && name[1] == ':') {
		return "", false, &Error{Entry: f.Name, Reason: "is an absolute path"}
	}
	for _, seg := range strings.Split(name, "/") {
		if err := fsroot.CheckName(seg); err != nil {
			var pe *fsroot.PathError
			if errors.As(err, &pe) {
				return "", false, &Error{Entry: f.Name, Reason: strings.Replace(pe.Reason, "has a name", "has a segment", 1)}
			}
			return "", false, &Error{Entry: f.Name, Reason: err.Error()}
		}
	}
	return name, isDir || f.Mode().IsDir(), nil
}

// checkPathLimits refuses an entry (name, cleaned by entryName) whose path
// under dir would pass the API's limits of depth or length: the API could
// not address it afterwards.
func checkPathLimits(f *zip.File, name, dir string) error {
	full := name
	if dir != "" {
		full = dir + "/" + name
	}
	if len(full) > fsroot.MaxPathLength {
		return &Error{Entry: truncateName(f.Name), Reason: fmt.Sprintf(
			"makes a path of %d bytes; the limit is %d bytes per path", len(full), fsroot.MaxPathLength)}
	}
	if depth := strings.Count(full, "/") + 1; depth > fsroot.MaxDepth {
		return &Error{Entry: truncateName(f.Name), Reason: fmt.Sprintf(
			"makes a path %d levels deep; the limit is %d levels", depth, fsroot.MaxDepth)}
	}
	return nil
}

// truncateName shortens an entry name for an error message, at a rune
// boundary.
func truncateName(name string) string {
	const keep = 64
	if len(name) <= keep {
		return name
	}
	cut := keep
	for cut > 0 && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return name[:cut] + "..."
}

// span is the compressed data of one file entry: [start, end) in the
// archive.
type span struct {
	f          *zip.File
	start, end uint64
}

// checkOverlaps refuses entries whose compressed data overlap. A well-formed
// archive never shares data between entries; a crafted one points many
// entries at one deflate stream, so that each passes the ratio check while
// the archive expands many times over.
func checkOverlaps(spans []span) error {
	slices.SortFunc(spans, func(a, b span) int { return cmp.Compare(a.start, b.start) })
	for i := 1; i < len(spans); i++ {
		prev, cur := spans[i-1], spans[i]
		if cur.start < prev.end {
			return &Error{Entry: truncateName(cur.f.Name), Reason: fmt.Sprintf(
				"shares compressed data with entry %q (entries that overlap are a ZIP bomb)", truncateName(prev.f.Name))}
		}
	}
	return nil
}

func checkEntry(f *zip.File, isDir bool, l Limits) error {
	mode := f.Mode()
	switch {
	case mode&fs.ModeSymlink != 0:
		return &Error{Entry: f.Name, Reason: "is a symbolic link; links are not extracted"}
	case mode&(fs.ModeDevice|fs.ModeNamedPipe|fs.ModeSocket|fs.ModeCharDevice|fs.ModeIrregular) != 0:
		return &Error{Entry: f.Name, Reason: "is not a regular file or folder"}
	case f.Flags&0x1 != 0:
		return &Error{Entry: f.Name, Reason: "is encrypted; encrypted archives are not supported"}
	case isDir:
		return nil
	case f.Method != zip.Store && f.Method != zip.Deflate:
		return &Error{Entry: f.Name, Reason: fmt.Sprintf("uses compression method %d; only Store and Deflate are supported", f.Method)}
	case f.UncompressedSize64 >= RatioFloorBytes && float64(f.UncompressedSize64) > l.MaxRatio*float64(max(f.CompressedSize64, 1)):
		return &Error{Entry: f.Name, Reason: fmt.Sprintf("expands %.0f times; the limit is %.0f (a ZIP bomb?)",
			float64(f.UncompressedSize64)/float64(max(f.CompressedSize64, 1)), l.MaxRatio), TooLarge: true}
	}
	return nil
}

func parentOf(name string) string {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return ""
	}
	return name[:i]
}
