package client

import (
	"context"
	"net/http"
	"testing"

	"github.com/shoenig/test/must"
)

// A BytesSource is sent whole, with its length, on every attempt, and with
// the content type of what it holds.
func TestUploadBytesSource(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name            string
		src             BytesSource
		wantContentType string
		wantDescribe    string
	}{
		{"archive", BytesSource{Data: []byte("PK\x03\x04 an archive"), Zip: true, Name: "v2.zip"}, "application/zip", "v2.zip"},
		{"file", BytesSource{Data: []byte("hello")}, "application/octet-stream", "data"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, got := uploadServer(t, http.StatusConflict)
			c, waits := newTestClient(t, srv, Config{})
			var last int64
			_, err := c.Upload(context.Background(), task1, "local", tc.src, UploadOptions{Progress: func(d, _ int64) { last = d }})
			must.NoError(t, err)
			must.Len(t, 1, *waits)
			reqs := got()
			must.Len(t, 2, reqs)
			for _, r := range reqs {
				must.EqOp(t, tc.wantContentType, r.contentType)
				must.EqOp(t, int64(len(tc.src.Data)), r.contentLength)
				must.EqOp(t, string(tc.src.Data), string(r.body))
			}
			must.EqOp(t, int64(len(tc.src.Data)), last)
			must.EqOp(t, tc.wantDescribe, tc.src.Describe())
		})
	}
}
