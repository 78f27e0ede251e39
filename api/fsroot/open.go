package fsroot

import (
	"fmt"
	"io/fs"
	"os"
)

// SpecialFileError reports a target that is neither a regular file nor a
// folder: a named pipe, a socket or a device. Reading one may block
// forever (a pipe without writer) or never end (a device), so it is refused.
type SpecialFileError struct {
	Path string
	// Kind names the file's type, such as "named pipe (FIFO)".
	Kind string
}

// Error implements error.
func (e *SpecialFileError) Error() string {
	return fmt.Sprintf("%q is a %s; only regular files and folders can be read", e.Path, e.Kind)
}

// Kind names the type of a file mode for messages and listings.
func Kind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "file"
	case m.IsDir():
		return "directory"
	case m&fs.ModeSymlink != 0:
		return "link"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "special file"
}

// readable reports whether a file of mode m may be opened for reading.
func readable(m fs.FileMode) bool { return m.IsRegular() || m.IsDir() }

// openRead opens name in r for reading, refusing (without opening it) what
// is not a regular file or a folder; rel names it in errors. The type is
// checked before the open and, against a swap in between, after it.
func openRead(r *os.Root, name, rel string) (*os.File, error) {
	fi, err := r.Stat(name)
	if err != nil {
		return nil, MapError(rel, err)
	}
	if !readable(fi.Mode()) {
		return nil, &SpecialFileError{Path: rel, Kind: Kind(fi.Mode())}
	}
	f, err := r.OpenFile(name, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, MapError(rel, err)
	}
	if fi, err = f.Stat(); err != nil || !readable(fi.Mode()) {
		_ = f.Close()
		if err != nil {
			return nil, MapError(rel, err)
		}
		return nil, &SpecialFileError{Path: rel, Kind: Kind(fi.Mode())}
	}
	return f, nil
}

// ReadFS returns the folder r as an fs.FS for a walk that reads files (a
// folder download): its Open refuses, without opening them, the entries
// that are not regular files or folders, so the walk skips them.
func ReadFS(r *os.Root) fs.FS { return readFS{r} }

type readFS struct{ r *os.Root }

// Open implements fs.FS.
func (f readFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	file, err := openRead(f.r, name, name)
	if err != nil {
		return nil, err
	}
	return file, nil
}
