//go:build !windows

package iissim

import (
	"errors"
	"fmt"

	"github.com/nomad-iis/nomad-iis/ps"
)

// opError is a failure that carries one of the contract's error kinds, so
// that it reaches the caller as the same kind PowerShell would report.
type opError struct {
	kind ps.ErrorKind
	msg  string
}

// Error implements error.
func (e *opError) Error() string { return e.msg }

func kindErrorf(kind ps.ErrorKind, format string, args ...any) error {
	return &opError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

func notFoundf(format string, args ...any) error {
	return kindErrorf(ps.KindNotFound, format, args...)
}

func invalidf(format string, args ...any) error {
	return kindErrorf(ps.KindInvalidArgument, format, args...)
}

func conflictf(format string, args ...any) error {
	return kindErrorf(ps.KindConflict, format, args...)
}

func unavailablef(format string, args ...any) error {
	return kindErrorf(ps.KindUnavailable, format, args...)
}

// errorKind is the contract kind of err: the kind of the first opError in
// its chain, Internal for anything else.
func errorKind(err error) ps.ErrorKind {
	var oe *opError
	if errors.As(err, &oe) {
		return oe.kind
	}
	return ps.KindInternal
}

// wireError renders err for a response frame.
func wireError(err error) *ps.WireError {
	return &ps.WireError{Kind: errorKind(err), Message: err.Error()}
}
