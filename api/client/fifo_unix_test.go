//go:build unix

package client

import (
	"context"
	"errors"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/shoenig/test/must"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
)

func TestUploadAbortsOnAnUnreadableFile(t *testing.T) {
	t.Parallel()
	dir := writeTree(t)
	// A named pipe is never read (it could block forever): the archive is
	// incomplete, so the body is cut off before its end.
	must.NoError(t, syscall.Mkfifo(filepath.Join(dir, "css", "pipe"), 0o644))
	srv, got := uploadServer(t)
	c, _ := newTestClient(t, srv, Config{})
	_, err := c.Upload(context.Background(), task1, "local", DirSource{Dir: dir}, UploadOptions{})
	var skipped *SkippedFilesError
	must.True(t, errors.As(err, &skipped), must.Sprint(err))
	must.Eq(t, []string{"css/pipe"}, skipped.Files)
	must.StrContains(t, err.Error(), "cannot read css/pipe (nothing was uploaded)")
	// The handler may still be reading when the client has given up.
	testkit.Eventually(t, "the server records the upload", func() bool { return len(got()) == 1 })
	must.Error(t, got()[0].readErr) // an interrupted body, never a complete archive
}
