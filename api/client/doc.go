// Package client is a Go client of the nomad-iis Management API: typed
// requests and responses, problem+json errors as *Error, Retry-After
// honoured with a bounded retry for 409, 429 and 503, a context on every
// call, streaming uploads (a folder is zipped while it is sent, through a
// pipe, with no temporary archive) and streaming downloads, both with
// progress callbacks.
//
// It speaks to one node's API; finding which node runs an allocation is the
// caller's business (the nomad-iis command does it through the Nomad API).
//
// The package lives next to the server it talks to but does not import it:
// the command built on it stays small and cross-compiles without the
// server's dependencies. Its tests import the server's package to check that
// the names they share (capabilities, JWT issuer and audience) agree.
package client
