package testkit

import (
	"archive/zip"
	"bytes"
	"io"
	"io/fs"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/nomad-iis/nomad-iis/internal/task"
	"github.com/shoenig/test/must"
)

func TestFreePort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(FreePort(t)))
	must.NoError(t, err)
	must.NoError(t, ln.Close())
}

func TestEventually(t *testing.T) {
	n := 0
	Eventually(t, "the third poll", func() bool { n++; return n == 3 })
	must.EqOp(t, 3, n)
}

func TestSyncBuffer(t *testing.T) {
	var b SyncBuffer
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { _, _ = b.Write([]byte("x")) })
	}
	wg.Wait()
	must.EqOp(t, "xxxxxxxx", b.String())
}

func TestMakeZip(t *testing.T) {
	b := MakeZip(append(ZipFiles(map[string]string{"b.txt": "b", "a.txt": "a"}),
		ZipEntry{Name: "link", Body: "a.txt", Mode: fs.ModeSymlink | 0o777},
		ZipEntry{Name: "big", Body: "x", Size: 1 << 30})...)
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	must.NoError(t, err)
	must.Len(t, 4, zr.File)
	must.EqOp(t, "a.txt", zr.File[0].Name)
	must.EqOp(t, zip.Deflate, zr.File[0].Method)
	must.EqOp(t, fs.ModeSymlink, zr.File[2].Mode().Type())
	must.EqOp(t, uint64(1<<30), zr.File[3].UncompressedSize64)
	r, err := zr.File[1].Open()
	must.NoError(t, err)
	body, err := io.ReadAll(r)
	must.NoError(t, err)
	must.EqOp(t, "b", string(body))
}

func TestRegistry(t *testing.T) {
	a := task.Info{AllocID: "a1", TaskName: "web", TaskID: "a1/web"}
	b := task.Info{AllocID: "a2", TaskName: "web", TaskID: "a2/web"}
	r := NewRegistry(a, b)

	got, ok := r.Lookup("a2", "web")
	must.True(t, ok)
	must.Eq(t, "a2/web", got.TaskID)
	_, ok = r.Lookup("a2", "api")
	must.False(t, ok)

	a.SiteName = "moved"
	must.True(t, r.Update(a))
	must.False(t, r.Update(task.Info{AllocID: "a3", TaskName: "web"}))
	must.Eq(t, "moved", r.List()[0].SiteName)

	r.Emit("a1/web", "uploaded")
	must.Eq(t, []string{"a1/web: uploaded"}, r.Events())
}
