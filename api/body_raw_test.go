package api

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

// rawRequest sends req as it is over a new TCP connection to srv and reads
// the response.
func rawRequest(t *testing.T, srv *httptest.Server, req string) (*http.Response, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", srv.Listener.Addr().String(), 5*time.Second)
	must.NoError(t, err)
	defer conn.Close()
	must.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
	_, err = io.WriteString(conn, req)
	must.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	must.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// Request bodies that cannot be decoded are the client's fault: 400 with a
// detail, never 500, and nothing is written.
func TestUpload_MalformedBodies(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	srv := httptest.NewServer(e.srv.Handler())
	defer srv.Close()
	head := "PUT " + taskURL("/fs/local/index.html") + " HTTP/1.1\r\nHost: localhost\r\nX-Api-Key: " + testKey + "\r\n"
	cases := []struct {
		name   string
		req    string
		detail string
	}{
		{"broken chunk size", head + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", "the request body could not be read (invalid byte in chunk length)"},
		{"chunk size too large", head + "Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n", "the request body could not be read"},
		{"chunk without its CRLF", head + "Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n", "the request body could not be read"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := rawRequest(t, srv, tc.req)
			must.Eq(t, 400, resp.StatusCode, must.Sprint(body))
			must.StrContains(t, body, tc.detail)
			b, err := os.ReadFile(filepath.Join(e.task.TaskDir, "local", "index.html"))
			must.NoError(t, err)
			must.True(t, strings.HasPrefix(string(b), "<h1>v1"), must.Sprint(string(b)))
		})
	}
}
