// Package fsroot confines the Management API's file operations to one task
// directory. It has two halves:
//
//   - Clean and CheckName: the lexical rules a path from a request (or a name
//     from an uploaded ZIP) must pass. Windows and POSIX rules are both checked
//     on every OS, so a path refused on the Windows production host is refused
//     in the Linux test suite as well.
//   - Tree and Loc: every I/O goes through an os.Root opened at the task
//     directory, and through a second os.Root opened at the path's top-level
//     directory (local, tmp, ...). Links inside a top-level directory therefore
//     cannot reach secrets/ or private/, and links that point out of it are
//     refused by the operating system rather than followed.
package fsroot

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// StagingPrefix starts the names of the API's own transient entries (upload
// spools, staging and backup directories). Such names are reserved: the
// resolver refuses them, listings and ZIP downloads hide them.
const StagingPrefix = ".nomad-iis"

// Limits of a path accepted by Clean.
const (
	// MaxPathLength bounds a whole relative path, in bytes.
	MaxPathLength = 4096
	// MaxNameLength bounds one path segment, in bytes (NTFS allows 255 UTF-16 units).
	MaxNameLength = 255
	// MaxDepth bounds the number of segments of a path.
	MaxDepth = 64
)

// Sentinels matched by *PathError through errors.Is.
var (
	// ErrInvalid: the path is malformed or could alias another file.
	ErrInvalid = errors.New("invalid path")
	// ErrForbidden: the path is well formed but never reachable through the API.
	ErrForbidden = errors.New("forbidden path")
)

// PathError explains why a path was refused. Path is the path as the client
// sent it (decoded once), never an OS path.
type PathError struct {
	Path      string
	Reason    string
	Forbidden bool
}

// Error implements error.
func (e *PathError) Error() string {
	return fmt.Sprintf("path %q %s", e.Path, e.Reason)
}

// Is matches ErrForbidden or ErrInvalid.
func (e *PathError) Is(target error) bool {
	if e.Forbidden {
		return target == ErrForbidden
	}
	return target == ErrInvalid
}

// forbiddenTop are the task directory's entries that hold credentials; Nomad's
// own file API refuses them too.
var forbiddenTop = []string{"secrets", "private"}

// Clean checks p, a slash-separated path relative to the task directory, and
// returns it without its optional trailing slash. It refuses empty, absolute,
// drive-letter, UNC and device paths, "." and ".." segments, backslashes,
// colons (alternate data streams), names Windows would silently alter, and the
// secrets/ and private/ directories (case-insensitively).
func Clean(p string) (string, error) {
	orig := p
	if p == "" {
		return "", &PathError{Path: orig, Reason: "is empty; name a file or folder of the task directory, such as local"}
	}
	if len(p) > MaxPathLength {
		return "", &PathError{Path: orig[:64] + "...", Reason: fmt.Sprintf("is longer than %d bytes", MaxPathLength)}
	}
	if strings.HasPrefix(p, "/") {
		return "", &PathError{Path: orig, Reason: "is absolute; paths are relative to the task directory"}
	}
	if len(p) >= 2 && p[1] == ':' {
		return "", &PathError{Path: orig, Reason: "starts with a drive letter; paths are relative to the task directory"}
	}
	p = strings.TrimSuffix(p, "/")
	segs := strings.Split(p, "/")
	if len(segs) > MaxDepth {
		return "", &PathError{Path: orig, Reason: fmt.Sprintf("is more than %d folders deep", MaxDepth)}
	}
	for _, s := range segs {
		if err := CheckName(s); err != nil {
			var pe *PathError
			if errors.As(err, &pe) {
				pe.Path = orig
			}
			return "", err
		}
	}
	// Defence in depth: the standard library's own lexical rules for this
	// OS must agree (they are a subset of the above).
	if lp, err := filepath.Localize(p); err != nil || !filepath.IsLocal(lp) {
		return "", &PathError{Path: orig, Reason: "is not a local path"}
	}
	for _, f := range forbiddenTop {
		if strings.EqualFold(segs[0], f) {
			return "", &PathError{Path: orig, Forbidden: true,
				Reason: "is not reachable through the Management API: secrets/ and private/ hold the task's credentials"}
		}
	}
	return p, nil
}

// CheckName checks one path segment (a file or folder name). The returned
// error is a *PathError whose Path is the segment.
func CheckName(s string) error {
	bad := func(reason string) error { return &PathError{Path: s, Reason: reason} }
	switch {
	case s == "":
		return bad("has an empty segment (a leading slash or a double slash)")
	case s == "." || s == "..":
		return bad("has a \".\" or \"..\" segment; paths cannot leave or re-enter a folder")
	case len(s) > MaxNameLength:
		return bad(fmt.Sprintf("has a name longer than %d bytes", MaxNameLength))
	case !utf8.ValidString(s):
		return bad("is not valid UTF-8")
	}
	for _, r := range s {
		switch {
		case r < 0x20 || r == 0x7f:
			return bad("contains a control character")
		case r == '\\':
			return bad("contains a backslash; separate folders with \"/\" (URL-encoded as %2F)")
		case r == ':':
			return bad("contains a colon (a drive letter or an NTFS alternate data stream)")
		case strings.ContainsRune(`<>"|?*`, r):
			return bad(fmt.Sprintf("contains %q, which Windows does not allow in file names", r))
		}
	}
	if last := s[len(s)-1]; last == '.' || last == ' ' {
		return bad("has a name ending in a dot or a space, which Windows drops (the name would alias another)")
	}
	if isDeviceName(s) {
		return bad("names a Windows device (CON, PRN, AUX, NUL, COM1-9, LPT1-9)")
	}
	if isShortName(s) {
		return bad("looks like a Windows 8.3 short name (NAME~1.EXT), which can alias another file")
	}
	if strings.HasPrefix(strings.ToLower(s), StagingPrefix) {
		return &PathError{Path: s, Forbidden: true, Reason: "uses the prefix " + StagingPrefix + ", reserved for the API's staging files"}
	}
	return nil
}

// IsReserved reports whether name is one of the API's own staging entries.
func IsReserved(name string) bool {
	return strings.HasPrefix(strings.ToLower(name), StagingPrefix)
}

// IsForbiddenTop reports whether name, a top-level entry of the task
// directory, is one the API never exposes.
func IsForbiddenTop(name string) bool {
	for _, f := range forbiddenTop {
		if strings.EqualFold(name, f) {
			return true
		}
	}
	return IsReserved(name)
}

// isDeviceName reports whether Windows maps s to a device: the reserved
// names, with any extension and trailing spaces before it ("nul.txt", "COM1 .log").
func isDeviceName(s string) bool {
	base := s
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	base = strings.ToUpper(strings.TrimRight(base, " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$":
		return true
	}
	if len(base) >= 4 && (strings.HasPrefix(base, "COM") || strings.HasPrefix(base, "LPT")) {
		switch base[3:] {
		case "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³":
			return true
		}
	}
	return false
}

// isShortName reports whether s has the shape of a generated 8.3 name: up to
// six characters, a tilde, digits, and an extension of up to three characters.
func isShortName(s string) bool {
	name, ext, _ := strings.Cut(s, ".")
	if len(ext) > 3 || strings.Contains(ext, ".") {
		return false
	}
	i := strings.IndexByte(name, '~')
	if i < 1 || i > 6 || i == len(name)-1 || len(name) > 8 {
		return false
	}
	for _, r := range name[i+1:] {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
