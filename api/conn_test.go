package api

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

// serveRaw serves the API of e on a loopback port for raw connections.
func serveRaw(t *testing.T, e *env) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- e.srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		must.NoError(t, <-served)
	})
	return ln.Addr().String()
}

// rawExchange sends raw on a new connection and reads the responses to
// n requests; the connection is closed by the client afterwards.
func rawExchange(t *testing.T, addr, raw string, n int) []*http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	must.NoError(t, err)
	defer c.Close()
	must.NoError(t, c.SetDeadline(time.Now().Add(30*time.Second)))
	_, err = io.WriteString(c, raw)
	must.NoError(t, err)
	br := bufio.NewReader(c)
	var out []*http.Response
	for range n {
		resp, err := http.ReadResponse(br, nil)
		must.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		must.NoError(t, err)
		resp.Body = io.NopCloser(strings.NewReader(string(body)))
		out = append(out, resp)
	}
	return out
}

func problemBody(t *testing.T, resp *http.Response) problem {
	t.Helper()
	must.Eq(t, "application/problem+json", resp.Header.Get("Content-Type"))
	var p problem
	must.NoError(t, json.NewDecoder(resp.Body).Decode(&p))
	must.Eq(t, resp.StatusCode, p.Status)
	return p
}

// TestConn_ContentLengthAndTransferEncoding: a request framed both ways is
// refused with 400 and changes nothing; net/http alone would serve it with
// the Content-Length removed.
func TestConn_ContentLengthAndTransferEncoding(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	addr := serveRaw(t, e)
	raw := "PUT " + taskURL("/fs/local%2Fsmuggled.txt") + " HTTP/1.1\r\nHost: x\r\nX-Api-Key: " + testKey +
		"\r\nContent-Type: application/octet-stream\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" +
		"4\r\nabcd\r\n0\r\n\r\n"
	resp := rawExchange(t, addr, raw, 1)[0]
	must.Eq(t, http.StatusBadRequest, resp.StatusCode)
	must.True(t, resp.Close, must.Sprint("the connection must be closed"))
	p := problemBody(t, resp)
	must.StrContains(t, p.Detail, "Content-Length and Transfer-Encoding")
	_, err := os.Stat(filepath.Join(e.task.TaskDir, "local", "smuggled.txt"))
	must.True(t, os.IsNotExist(err), must.Sprint("the refused upload was written"))
}

// TestConn_FramingFollowed: chunked and sized bodies, pipelined on one
// connection, are served; the guard follows their framing without
// refusing them.
func TestConn_FramingFollowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	addr := serveRaw(t, e)
	head := func(method, path string) string {
		return method + " " + taskURL(path) + " HTTP/1.1\r\nHost: x\r\nX-Api-Key: " + testKey + "\r\nContent-Type: application/octet-stream\r\n"
	}
	// The chunk data and the sized body look like request heads with both
	// headers: only real heads count.
	fake := "GET / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
	raw := head("PUT", "/fs/local%2Fa.txt") + "Transfer-Encoding: chunked\r\n\r\n" +
		strings.ToUpper(strconvHex(len(fake))) + ";ext=1\r\n" + fake + "\r\n0\r\nX-Trailer: 1\r\n\r\n" +
		head("PUT", "/fs/local%2Fb.txt") + "Content-Length: " + itoa(len(fake)) + "\r\n\r\n" + fake +
		head("GET", "/fs/local%2Fa.txt") + "\r\n"
	resps := rawExchange(t, addr, raw, 3)
	for i, resp := range resps {
		must.Eq(t, http.StatusOK, resp.StatusCode, must.Sprintf("response %d", i))
	}
	got, err := io.ReadAll(resps[2].Body)
	must.NoError(t, err)
	must.Eq(t, fake, string(got))
}

// TestConn_ServerErrorsAreProblems: what net/http answers before any
// handler runs comes as problem+json with the same status.
func TestConn_ServerErrorsAreProblems(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	addr := serveRaw(t, e)
	cases := []struct {
		name   string
		raw    string
		status int
		detail string
	}{
		{"bad percent-encoding", "GET /api/v1/%zz HTTP/1.1\r\nHost: x\r\n\r\n", http.StatusBadRequest, "malformed"},
		{"missing Host", "GET /api/v1/health HTTP/1.1\r\n\r\n", http.StatusBadRequest, "missing required Host header"},
		{"headers too large", "GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 80<<10) + "\r\n\r\n",
			http.StatusRequestHeaderFieldsTooLarge, "64 KiB"},
		{"HTTP/3.0", "GET /api/v1/health HTTP/3.0\r\nHost: x\r\n\r\n", http.StatusHTTPVersionNotSupported, "HTTP/1.1"},
		{"unsupported transfer coding", "PUT /api/v1/health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
			http.StatusNotImplemented, "chunked"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := rawExchange(t, addr, c.raw, 1)[0]
			must.Eq(t, c.status, resp.StatusCode)
			p := problemBody(t, resp)
			must.StrContains(t, p.Detail, c.detail)
		})
	}
}

// TestConn_ResponseBodyNotRewritten: a download whose content is exactly
// net/http's error answer reaches the client unchanged.
func TestConn_ResponseBodyNotRewritten(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	addr := serveRaw(t, e)
	content := "HTTP/1.1 400 Bad Request" + serverErrorHead + "400 Bad Request"
	must.NoError(t, os.WriteFile(filepath.Join(e.task.TaskDir, "local", "answer.txt"), []byte(content), 0o644))
	raw := "GET " + taskURL("/fs/local%2Fanswer.txt") + " HTTP/1.1\r\nHost: x\r\nX-Api-Key: " + testKey + "\r\n\r\n"
	resp := rawExchange(t, addr, raw, 1)[0]
	must.Eq(t, http.StatusOK, resp.StatusCode)
	got, err := io.ReadAll(resp.Body)
	must.NoError(t, err)
	must.Eq(t, content, string(got))
}

func strconvHex(n int) string { return strconv.FormatInt(int64(n), 16) }

// TestConn_PlainHTTPOnTLSPort: a plain HTTP request to the TLS port is
// answered 400 problem+json saying to use HTTPS.
func TestConn_PlainHTTPOnTLSPort(t *testing.T) {
	t.Parallel()
	certFile, keyFile, _ := writeSelfSigned(t, t.TempDir())
	e := newEnv(t, func(c *Config) { c.TLSCertFile, c.TLSKeyFile = certFile, keyFile })
	addr := serveRaw(t, e)
	resp := rawExchange(t, addr, "GET "+taskURL("/status")+" HTTP/1.1\r\nHost: x\r\n\r\n", 1)[0]
	must.Eq(t, http.StatusBadRequest, resp.StatusCode)
	must.StrContains(t, problemBody(t, resp).Detail, "use https://")
}
