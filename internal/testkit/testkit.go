// Package testkit holds the helpers that the tests of several packages
// share: a free port, a wait for a condition, a log buffer, a zip archive
// and a fixed task registry for the Management API. It is for tests and
// benchmarks only: import it from _test.go files, test-only helper packages
// and bench/, never from the plugin or iissim.
package testkit

import (
	"bytes"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

// FreePort returns a TCP port of 127.0.0.1 that nobody listens on at the
// moment.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	must.NoError(t, ln.Close())
	return port
}

const (
	// waitTimeout is how long Eventually waits: a bound for a state change,
	// not a timing.
	waitTimeout = time.Minute
	// waitGap is the pause between two polls.
	waitGap = 25 * time.Millisecond
)

// Eventually polls cond until it holds and fails the test when it has not
// held within a minute. what names the awaited state in the failure.
func Eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	EventuallyWithin(t, waitTimeout, what, cond)
}

// EventuallyWithin is Eventually with a bound of timeout.
func EventuallyWithin(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for: %s", timeout, what)
		}
		time.Sleep(waitGap)
	}
}

// SyncBuffer is a bytes.Buffer that goroutines may write concurrently, for
// example a logger's output that a test reads.
type SyncBuffer struct {
	// mu guards buf.
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
