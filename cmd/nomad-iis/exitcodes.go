package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/nomad-iis/nomad-iis/api/client"
)

// The exit codes of nomad-iis. They are part of its interface (docs/cli.md):
// never renumber them.
const (
	// exitOK: every allocation succeeded.
	exitOK = 0
	// exitFailure: anything else that failed (refused credentials, a
	// conflict, a transfer that broke, a node without the API ...).
	exitFailure = 1
	// exitUsage: a wrong command line (unknown flag, missing argument,
	// conflicting options, an ambiguous target).
	exitUsage = 2
	// exitNotFound: no such job, allocation, task, file or pool (404).
	exitNotFound = 3
	// exitBusy: the API still answered busy (409, 429 or 503 with
	// Retry-After) after the retries.
	exitBusy = 4
)

// usageError is a wrong command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

// notFoundError is a job, allocation or task that does not exist (or runs
// nowhere).
type notFoundError struct{ msg string }

func (e *notFoundError) Error() string { return e.msg }

func notFoundf(format string, args ...any) error {
	return &notFoundError{msg: fmt.Sprintf(format, args...)}
}

// exitCode is the exit code of one error.
func exitCode(err error) int {
	var ue *usageError
	var nf *notFoundError
	var ae *client.Error
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &nf):
		return exitNotFound
	case errors.Is(err, context.Canceled):
		return exitFailure
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		return exitNotFound
	case errors.As(err, &ae) && ae.Busy() && (ae.Attempts > 1 || ae.RetryAfter > 0):
		return exitBusy
	}
	return exitFailure
}

// combinedExitCode is the exit code of several allocations' outcomes: 0 when
// all succeeded, the failures' code when they share one, else 1.
func combinedExitCode(errs []error) int {
	code := exitOK
	for _, err := range errs {
		c := exitCode(err)
		switch {
		case c == exitOK:
		case code == exitOK:
			code = c
		case code != c:
			return exitFailure
		}
	}
	return code
}
