package ps

import (
	"errors"
	"fmt"
)

// ErrorKind is the closed set of error classes an operation can report. The
// PowerShell module and iissim put one of these in every error frame; the Go
// side maps them onto the sentinels below so callers branch with errors.Is.
type ErrorKind string

// The error kinds of the contract.
const (
	KindNotFound        ErrorKind = "NotFound"
	KindInvalidArgument ErrorKind = "InvalidArgument"
	KindConflict        ErrorKind = "Conflict"
	KindUnavailable     ErrorKind = "Unavailable"
	KindInternal        ErrorKind = "Internal"
)

// Sentinels matched by *Error through errors.Is.
var (
	// ErrNotFound: a site, pool, application, certificate or file does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalidArgument: the request was refused before anything changed.
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrConflict: a name or port is taken, or the object is in use.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the backend is down, hung, restarting or timed out;
	// the call may succeed when retried.
	ErrUnavailable = errors.New("unavailable")
	// ErrInternal: anything else the backend reported.
	ErrInternal = errors.New("internal error")
)

// Error is an error reported by an operation (or by the host on its behalf).
type Error struct {
	// Op is the operation that failed.
	Op Op
	// Kind classifies the failure.
	Kind ErrorKind
	// Message is the backend's message, meant for a person.
	Message string
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s", e.Op, e.Message)
}

// Is matches the sentinel of e's kind.
func (e *Error) Is(target error) bool {
	return target == e.Kind.sentinel()
}

func (k ErrorKind) sentinel() error {
	switch k {
	case KindNotFound:
		return ErrNotFound
	case KindInvalidArgument:
		return ErrInvalidArgument
	case KindConflict:
		return ErrConflict
	case KindUnavailable:
		return ErrUnavailable
	default:
		return ErrInternal
	}
}

// Valid reports whether k is one of the contract's kinds.
func (k ErrorKind) Valid() bool {
	switch k {
	case KindNotFound, KindInvalidArgument, KindConflict, KindUnavailable, KindInternal:
		return true
	}
	return false
}
