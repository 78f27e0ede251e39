//go:build windows

package fsroot

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/shoenig/test/must"
)

// TestOpenRead_SharesDelete: a file a download holds open can be renamed and
// deleted (os.Root opens with FILE_SHARE_DELETE), so an upload or a delete
// does not wait for the download, and the download keeps reading.
func TestOpenRead_SharesDelete(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	must.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("old"), 0o644))
	r, err := os.OpenRoot(dir)
	must.NoError(t, err)
	defer r.Close()
	f, err := openRead(r, "a.txt", "a.txt")
	must.NoError(t, err)
	defer f.Close()
	must.NoError(t, r.Rename("a.txt", "b.txt"))
	must.NoError(t, r.Remove("b.txt"))
	b := make([]byte, 3)
	_, err = f.ReadAt(b, 0)
	must.NoError(t, err)
	must.Eq(t, "old", string(b))
}
