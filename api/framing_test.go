package api

import (
	"strings"
	"testing"

	"github.com/shoenig/test/must"
)

// TestFramer follows request streams fed whole and byte by byte: only a
// real head with both lengths, or framing net/http cannot read either, is
// reported.
func TestFramer(t *testing.T) {
	t.Parallel()
	smuggle := "GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
	cases := []struct {
		name      string
		stream    string
		ambiguous bool
	}{
		{"no body", "GET / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\n\r\n", false},
		{"both lengths", "POST / HTTP/1.1\r\ncontent-length: 3\r\nTRANSFER-ENCODING: chunked\r\n\r\n", true},
		{"both lengths in the second request", "POST / HTTP/1.1\r\nContent-Length: 2\r\n\r\nab" + smuggle, true},
		{"a head inside a sized body", "POST / HTTP/1.1\r\nContent-Length: 71\r\n\r\n" + smuggle, false},
		{"a head inside chunks", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n47\r\n" + smuggle + "\r\n0\r\n\r\n", false},
		{"after chunks and trailer", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\nT: 1\r\n\r\n" + smuggle, true},
		{"HTTP/1.0 ignores Transfer-Encoding", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n" + smuggle, true},
		{"leading empty lines", "\r\n\r\nGET / HTTP/1.1\r\n\r\n", false},
		{"bad chunk size", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", true},
		{"missing chunk end", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n", true},
		{"conflicting lengths", "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", true},
		{"head over the limit", "GET / HTTP/1.1\r\nX: " + strings.Repeat("a", 300) + "\r\n\r\n", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var whole framer
			must.Eq(t, c.ambiguous, whole.feed([]byte(c.stream), 256))
			var bytewise framer
			got := false
			for i := range len(c.stream) {
				got = bytewise.feed([]byte{c.stream[i]}, 256) || got
			}
			must.Eq(t, c.ambiguous, got)
		})
	}
}

// TestProblemForServerError: only net/http's own error answer, the status
// line directly followed by its fixed head, is rewritten.
func TestProblemForServerError(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		in     string
		status string
	}{
		{"bad request", "HTTP/1.1 400 Bad Request" + serverErrorHead + "400 Bad Request", "HTTP/1.1 400 Bad Request\r\nContent-Type: application/problem+json"},
		{"with reason", "HTTP/1.1 400 Bad Request: missing required Host header" + serverErrorHead + "400 Bad Request: missing required Host header", "HTTP/1.1 400 Bad Request\r\n"},
		{"a handler's response", "HTTP/1.1 417 Expectation Failed\r\nDate: x" + serverErrorHead, ""},
		{"a success", "HTTP/1.1 200 OK" + serverErrorHead, ""},
		{"body bytes", "hello" + serverErrorHead, ""},
		{"short", "HTTP/1.1 4", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, ok := problemForServerError([]byte(c.in))
			must.Eq(t, c.status != "", ok)
			if ok {
				must.StrHasPrefix(t, c.status, string(out))
			}
		})
	}
}
