package bench

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/shoenig/test/must"
)

// sendOnce listens on loopback and writes payload to the first connection,
// then closes it; with hold, it keeps the connection open until hold is
// closed.
func sendOnce(t *testing.T, payload []byte, hold <-chan struct{}) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = c.Write(payload)
		if hold != nil {
			<-hold
		}
	}()
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	must.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c.(*net.TCPConn)
}

// testChunk matches the Linux sink's largest recv (1 MiB).
const testChunk = 1 << 20

func TestDiscardConn(t *testing.T) {
	// Sizes around the low-water mark and the chunk: a tail shorter than
	// the mark must still be received.
	for _, size := range []int{1, testChunk - 1, testChunk + 7, 3*testChunk + 300<<10 + 5} {
		payload := bytes.Repeat([]byte{0x5a}, size)
		t.Run(strconv.Itoa(size)+" known", func(t *testing.T) {
			// The sender keeps the connection open: only the count ends it.
			hold := make(chan struct{})
			defer close(hold)
			n, err := discardConn(dial(t, sendOnce(t, payload, hold)), int64(size))
			must.NoError(t, err)
			must.EqOp(t, int64(size), n)
		})
		t.Run(strconv.Itoa(size)+" until EOF", func(t *testing.T) {
			n, err := discardConn(dial(t, sendOnce(t, payload, nil)), -1)
			must.NoError(t, err)
			must.EqOp(t, int64(size), n)
		})
	}
	t.Run("closed early", func(t *testing.T) {
		n, err := discardConn(dial(t, sendOnce(t, make([]byte, 70<<10), nil)), 100<<10)
		must.ErrorContains(t, err, "connection closed after 71680 of 102400 bytes")
		must.EqOp(t, int64(70<<10), n)
	})
}

func TestGetToNull(t *testing.T) {
	body := bytes.Repeat([]byte("nomad-iis"), 200_000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Api-Key") != APIKey {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		switch r.URL.Path {
		case "/file":
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			_, _ = w.Write(body)
		case "/chunked":
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, "streamed")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	n, err := getToNull(srv.URL + "/file")
	must.NoError(t, err)
	must.EqOp(t, int64(len(body)), n)

	_, err = getToNull(srv.URL + "/missing")
	must.ErrorContains(t, err, "status 404")

	_, err = getToNull(srv.URL + "/chunked")
	must.ErrorContains(t, err, "no Content-Length")
}
