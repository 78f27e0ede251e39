package api

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nomad-iis/nomad-iis/api/fsroot"
	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/shoenig/test/must"
)

// TestServer_Serve_WaitsForRequestsInFlight stops the server while an
// upload's body is still coming: Serve returns only once that upload has
// been applied and answered.
func TestServer_Serve_WaitsForRequestsInFlight(t *testing.T) {
	e := newEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must.NoError(t, err)
	addr := ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- e.srv.Serve(ctx, ln) }()

	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPut, "http://"+addr+taskURL("/fs/local%2Fslow.txt"), pr)
	must.NoError(t, err)
	req.Header.Set("X-Api-Key", testKey)
	req.Header.Set("Content-Type", "application/octet-stream")
	go func() {
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = resp.Body.Close()
		}
	}()
	_, err = pw.Write([]byte("part one, "))
	must.NoError(t, err)
	testkit.Eventually(t, "the upload to be spooled", func() bool {
		m, _ := filepath.Glob(filepath.Join(e.task.TaskDir, "local", fsroot.StagingPrefix+"*"))
		return len(m) > 0
	})

	cancel()
	go func() {
		// The rest of the body comes once the server stopped listening.
		for {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				break
			}
			_ = c.Close()
			time.Sleep(time.Millisecond)
		}
		_, _ = pw.Write([]byte("part two"))
		_ = pw.Close()
	}()
	must.NoError(t, <-served)
	got, err := os.ReadFile(filepath.Join(e.task.TaskDir, "local", "slow.txt"))
	must.NoError(t, err, must.Sprint("Serve returned before the upload in flight was applied"))
	must.Eq(t, "part one, part two", string(got))
}

// TestNew_RequiresRegistryAndIIS: the API is built with its backend, so a
// missing registry or IIS client is a construction error, not a nil
// dereference on the first request.
func TestNew_RequiresRegistryAndIIS(t *testing.T) {
	cases := []struct {
		name string
		reg  Registry
		iis  IIS
	}{
		{"no registry", nil, testkit.DownIIS{}},
		{"no IIS client", testkit.NewRegistry(), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(Config{}, c.reg, c.iis, nil)
			must.ErrorContains(t, err, "a task registry and an IIS client are required")
		})
	}
}
