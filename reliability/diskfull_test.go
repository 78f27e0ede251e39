//go:build linux

package reliability

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoenig/test/must"
	"golang.org/x/sys/unix"

	"github.com/nomad-iis/nomad-iis/internal/testkit"
)

// mountSmallVolume mounts an 8 MiB tmpfs at dir (root only) and unmounts
// it when the test ends.
func mountSmallVolume(t *testing.T, dir string) {
	t.Helper()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=8m"); err != nil {
		t.Fatalf("mount an 8 MiB tmpfs at %s (the disk-full scenario needs root and mount(2)): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
}

// rawUpload sends a PATCH over its own connection, with a Content-Length
// or chunked (so that the API cannot check the free space first), and
// reads the answer while the body is still being written: a server that
// refuses a body half way answers, then closes the connection, and a
// client that only reads after writing sees the reset instead.
func rawUpload(t *testing.T, base, path, contentType string, body []byte, chunkedBody bool) (int, []byte) {
	t.Helper()
	u, err := url.Parse(base + path)
	must.NoError(t, err)
	conn, err := net.Dial("tcp", u.Host)
	must.NoError(t, err)
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Minute))
	go func() {
		w := bufio.NewWriter(conn)
		fmt.Fprintf(w, "PATCH %s HTTP/1.1\r\nHost: %s\r\nX-Api-Key: %s\r\nContent-Type: %s\r\n", u.RequestURI(), u.Host, apiKey, contentType)
		if chunkedBody {
			fmt.Fprintf(w, "Transfer-Encoding: chunked\r\n\r\n")
			for off := 0; off < len(body); off += 64 << 10 {
				chunk := body[off:min(off+64<<10, len(body))]
				fmt.Fprintf(w, "%x\r\n", len(chunk))
				_, _ = w.Write(chunk)
				_, _ = w.WriteString("\r\n")
			}
			_, _ = w.WriteString("0\r\n\r\n")
		} else {
			fmt.Fprintf(w, "Content-Length: %d\r\n\r\n", len(body))
			_, _ = w.Write(body)
		}
		_ = w.Flush()
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	must.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestFault_DiskFullDuringUpload puts a task directory on an 8 MiB volume
// and uploads more than fits: a ZIP and a file whose length is known (the
// free-space check refuses them up front) and ones sent chunked, which fill
// the volume while they are written. Each is refused with 507 and a message
// that says the volume is full, the old content is byte-identical, and the
// space is given back.
func TestFault_DiskFullDuringUpload(t *testing.T) {
	vol := t.TempDir()
	mountSmallVolume(t, vol)
	oldFiles := map[string]string{"index.html": "<h1>old</h1>", "css/site.css": "body{}", "data/big.txt": strings.Repeat("x", 1<<20)}
	taskDir := newTaskDir(t, vol, "web", oldFiles)
	task := taskFor(1, taskDir)
	before := readTree(t, filepath.Join(taskDir, "local"))
	var st0 syscall.Statfs_t
	must.NoError(t, syscall.Statfs(vol, &st0))

	base := startAPI(t, testkit.NewRegistry(task), testkit.DownIIS{})
	big := map[string]string{"index.html": "<h1>new</h1>"}
	for i := range 16 {
		big["data/"+string(rune('a'+i))+".bin"] = randomText(1 << 20)
	}
	bigZip := testkit.MakeZip(testkit.ZipFiles(big)...)
	bigFile := randomText(12 << 20)

	cases := []struct {
		name, path, contentType string
		body                    []byte
		chunked                 bool
	}{
		{"zip with length", "/fs/local?clean=true", "application/zip", bigZip, false},
		{"zip chunked", "/fs/local?clean=true", "application/zip", bigZip, true},
		{"file with length", "/fs/local/index.html", "application/octet-stream", []byte(bigFile), false},
		{"file chunked", "/fs/local/index.html", "application/octet-stream", []byte(bigFile), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := rawUpload(t, base, taskURL("", task, tc.path), tc.contentType, tc.body, tc.chunked)
			must.Eq(t, http.StatusInsufficientStorage, code, must.Sprintf("body: %s", body))
			var p struct{ Detail string }
			must.NoError(t, json.Unmarshal(body, &p))
			must.True(t, strings.Contains(p.Detail, "full") || strings.Contains(p.Detail, "free"),
				must.Sprintf("the message says the volume is full: %q", p.Detail))
			must.Eq(t, before, readTree(t, filepath.Join(taskDir, "local")), must.Sprint("old content byte-identical"))
			must.SliceEmpty(t, reservedEntries(t, taskDir), must.Sprint("no spool or staging entry left"))
			var st syscall.Statfs_t
			must.NoError(t, syscall.Statfs(vol, &st))
			must.Eq(t, st0.Bfree, st.Bfree, must.Sprint("the space is given back"))
			figure(t, "diskfull_%s_status=%d", strings.ReplaceAll(tc.name, " ", "_"), code)
		})
	}
	// The volume works again for an upload that fits the margin-free case:
	// nothing was left behind.
	_, err := os.Stat(filepath.Join(taskDir, "secrets", "token"))
	must.NoError(t, err)
}
