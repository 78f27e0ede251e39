//go:build !windows

package web

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/nomad-iis/nomad-iis/ps"
	"github.com/shoenig/test/must"
)

// TestServer_ControlCharacterInPathIsBadRequest sends raw requests whose
// path has an encoded control character: HTTP.sys answers 400 before
// routing, and the service logs no warning.
func TestServer_ControlCharacterInPathIsBadRequest(t *testing.T) {
	t.Parallel()
	worker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }))
	t.Cleanup(worker.Close)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	pool := &workerPool{w: Worker{Addr: strings.TrimPrefix(worker.URL, "http://")}}
	svc := &fakeService{rt: BuildRoutes([]Site{{
		Name: "s", ID: 1,
		Bindings: []ps.Binding{{Protocol: "http", IPAddress: "127.0.0.1", Port: port}},
		Apps:     []App{{Path: "/", PoolName: "p", Pool: pool, Dirs: []Dir{{Path: "/", PhysicalPath: t.TempDir()}}}},
	}}, false)}
	var out testkit.SyncBuffer
	log := hclog.New(&hclog.LoggerOptions{Output: &out, Level: hclog.Info})
	f := NewServer(svc, NewRequestLogs(t.TempDir()), log).Serve(ln.Addr().String(), "http", ln)
	t.Cleanup(f.Close)

	get := func(target string) int {
		conn, err := net.Dial("tcp", ln.Addr().String())
		must.NoError(t, err)
		defer conn.Close()
		_, err = fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", target)
		must.NoError(t, err)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		must.NoError(t, err)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	must.EqOp(t, http.StatusOK, get("/index.html"))
	for _, target := range []string{"/a%00b", "/a%0ab", "/a%0Db", "/%00/x", "/a%7f"} {
		must.EqOp(t, http.StatusBadRequest, get(target), must.Sprint("status of ", target))
	}
	must.StrNotContains(t, out.String(), "[WARN]")
}

// fakeService serves a fixed routing snapshot.
type fakeService struct{ rt *Routes }

func (s *fakeService) Routes() *Routes { return s.rt }
func (*fakeService) Certificate(string) (*tls.Certificate, error) {
	return nil, errors.New("no certificates")
}

// workerPool is a started pool with one worker.
type workerPool struct{ w Worker }

func (p *workerPool) Acquire(context.Context) (Worker, error) { return p.w, nil }
func (*workerPool) LoadBalancerCapabilities() string          { return "HttpLevel" }
