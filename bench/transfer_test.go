package bench

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/shoenig/test/must"
)

// zipSink records the one upload it accepts at /ok and refuses /full.
type zipSink struct {
	method, contentType string
	length              int64
	body                []byte
}

func (z *zipSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Api-Key") != APIKey {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.URL.Path == "/full" {
		http.Error(w, "disk full", http.StatusInsufficientStorage)
		return
	}
	z.method, z.contentType, z.length = r.Method, r.Header.Get("Content-Type"), r.ContentLength
	z.body, _ = io.ReadAll(r.Body)
}

func TestSendDeployAndPut(t *testing.T) {
	archive := []byte("PK\x03\x04 not really a zip")
	path := filepath.Join(t.TempDir(), "app.zip")
	must.NoError(t, os.WriteFile(path, archive, 0o600))

	tests := []struct {
		name   string
		method string
		send   func(url string) error
	}{
		{"sendDeploy PUT", http.MethodPut, func(url string) error { return sendDeploy(url, http.MethodPut, archive) }},
		{"put", http.MethodPatch, func(url string) error { return put(url, path, int64(len(archive))) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sink := &zipSink{}
			srv := httptest.NewServer(sink)
			defer srv.Close()

			must.NoError(t, tc.send(srv.URL+"/ok"))
			must.EqOp(t, tc.method, sink.method)
			must.EqOp(t, "application/zip", sink.contentType)
			must.EqOp(t, int64(len(archive)), sink.length)
			must.Eq(t, archive, sink.body)

			err := tc.send(srv.URL + "/full")
			must.ErrorContains(t, err, tc.method+" "+srv.URL+"/full: status 507: disk full")
		})
	}
}
