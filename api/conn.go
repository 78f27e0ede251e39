package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
)

// The connection guard sees what net/http hides from a handler.
//
// net/http deletes Content-Length from a request that also has
// Transfer-Encoding before the handler runs, so a request framed both ways
// (which a proxy in front may frame differently: request smuggling) cannot
// be recognised from the *http.Request. guardConn follows the request heads
// and body framing of each connection as the bytes are read, and marks the
// connection when a head carries both; ServeHTTP then refuses it with 400
// and closes the connection.
//
// net/http also answers some requests before any handler runs (a request
// line with a bad %-encoding, headers over MaxHeaderBytes, an HTTP version
// other than 1.x) with a fixed text/plain response written straight to
// the connection. guardConn recognises such a write (it comes only while no
// request of the connection is being served, and has net/http's exact
// error head) and sends the same status as application/problem+json.

// maxHeaderBytes bounds a request's line and headers (http.Server.MaxHeaderBytes).
const maxHeaderBytes = 64 << 10

// connKey is the context key of a request's *guardConn.
type connKey struct{}

// guardListener wraps every accepted connection in a guardConn.
type guardListener struct {
	net.Listener
	// maxHead bounds the bytes kept of one request head.
	maxHead int
}

// Accept implements net.Listener.
func (l guardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &guardConn{Conn: c, maxHead: l.maxHead}, nil
}

// guardConnContext stores the connection in the context of its requests
// (http.Server.ConnContext).
func guardConnContext(ctx context.Context, c net.Conn) context.Context {
	if gc, ok := c.(*guardConn); ok {
		return context.WithValue(ctx, connKey{}, gc)
	}
	return ctx
}

// guardConnState tracks when a connection's response is complete
// (http.Server.ConnState): from then until the next request reaches
// ServeHTTP, a write is net/http's own error answer.
func guardConnState(c net.Conn, st http.ConnState) {
	if gc, ok := c.(*guardConn); ok && (st == http.StateIdle || st == http.StateNew) {
		gc.serving.Store(false)
	}
}

// guardConn is a server connection whose request framing is followed.
type guardConn struct {
	net.Conn
	maxHead int

	// smuggled is set once a request head on the connection had both
	// Content-Length and Transfer-Encoding.
	smuggled atomic.Bool
	// serving is true from the moment a request reaches ServeHTTP until
	// its response is complete.
	serving atomic.Bool

	// mu guards the framing state below (Read is not called concurrently by
	// net/http, the lock makes that an invariant rather than an assumption).
	mu sync.Mutex
	fr framer
}

// Read implements net.Conn: it passes the bytes on unchanged and follows
// their framing.
func (c *guardConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	var plain tls.RecordHeaderError
	if errors.As(err, &plain) && plain.Conn != nil {
		// Plain HTTP on the TLS port; net/http does not see the *tls.Conn
		// it would answer this for, so the answer is given here.
		_, _ = plain.Conn.Write(problemResponse("HTTP/1.0", http.StatusBadRequest, "the API is served over HTTPS on this port; use https://"))
	}
	if n > 0 {
		c.mu.Lock()
		if c.fr.feed(p[:n], c.maxHead) {
			c.smuggled.Store(true)
		}
		c.mu.Unlock()
	}
	return n, err
}

// Write implements net.Conn: net/http's own text/plain error answer is
// rewritten as problem+json, every other write passes unchanged.
func (c *guardConn) Write(p []byte) (int, error) {
	if !c.serving.Load() {
		if resp, ok := problemForServerError(p); ok {
			if _, err := c.Conn.Write(resp); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	return c.Conn.Write(p)
}

// serverErrorHead is the head net/http writes after the status line of an
// answer it gives before any handler runs.
const serverErrorHead = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// problemForServerError turns net/http's pre-handler error answer p into
// the same status as application/problem+json, or reports false when p is
// not such an answer.
func problemForServerError(p []byte) ([]byte, bool) {
	const prefix = "HTTP/1.1 "
	// The status line, then exactly net/http's error head: a response of a
	// handler has other headers (Date at least) after its status line.
	i := bytes.Index(p, []byte("\r\n"))
	if !bytes.HasPrefix(p, []byte(prefix)) || i < len(prefix)+3 || !bytes.HasPrefix(p[i:], []byte(serverErrorHead)) {
		return nil, false
	}
	code, err := strconv.Atoi(string(p[len(prefix) : len(prefix)+3]))
	if err != nil || code < 400 || code > 599 {
		return nil, false
	}
	return problemResponse("HTTP/1.1", code, serverErrorDetail(code, string(p[i+len(serverErrorHead):]))), true
}

// problemResponse is a whole response of status code with a problem+json
// body, after which the connection is closed.
func problemResponse(proto string, code int, detail string) []byte {
	body, _ := json.Marshal(problem{Type: "about:blank", Title: http.StatusText(code), Status: code, Detail: detail})
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %d %s\r\nContent-Type: application/problem+json\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\nContent-Length: %d\r\n\r\n", proto, code, http.StatusText(code), len(body)+1)
	b.Write(body)
	b.WriteByte('\n')
	return b.Bytes()
}

// serverErrorDetail explains net/http's answer text for the client.
func serverErrorDetail(code int, text string) string {
	switch code {
	case http.StatusRequestHeaderFieldsTooLarge:
		return fmt.Sprintf("the request line and headers exceed the API's limit of %d KiB", maxHeaderBytes>>10)
	case http.StatusHTTPVersionNotSupported:
		return "the API speaks HTTP/1.0 and HTTP/1.1 only"
	case http.StatusNotImplemented:
		return "the request uses a Transfer-Encoding the API does not support; only chunked is supported"
	case http.StatusBadRequest:
		if _, reason, ok := bytes.Cut([]byte(text), []byte(": ")); ok {
			return "the request could not be read: " + string(reason)
		}
		return "the request could not be read: its request line or a header is malformed (for example a bad %-encoding in the path)"
	}
	return "the request could not be read: " + text
}

// checkConn marks the request's connection as serving, and refuses the
// request (closing the connection) when a request head on it was framed
// both by Content-Length and Transfer-Encoding, or could not be followed.
func checkConn(w http.ResponseWriter, r *http.Request) error {
	gc, ok := r.Context().Value(connKey{}).(*guardConn)
	if !ok {
		return nil
	}
	gc.serving.Store(true)
	if !gc.smuggled.Load() {
		return nil
	}
	w.Header().Set("Connection", "close")
	return apiErr(http.StatusBadRequest, "a request on this connection has both Content-Length and Transfer-Encoding (or framing that cannot be followed); send one of them; the connection is closed")
}
