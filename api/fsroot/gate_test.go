package fsroot

import (
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/shoenig/test/must"
)

func TestCommitGate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		readers int
		wantErr bool
	}{
		{name: "free", readers: 0},
		{name: "held by a download", readers: 1, wantErr: true},
		{name: "held by two downloads", readers: 2, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tree, err := Open(t.TempDir())
			must.NoError(t, err)
			defer tree.Close()
			for range tc.readers {
				defer tree.ReadGate()()
			}
			start := time.Now()
			release, err := tree.CommitGate(50 * time.Millisecond)
			var busy *GateBusyError
			must.Eq(t, tc.wantErr, errors.As(err, &busy))
			if !tc.wantErr {
				release()
				release() // idempotent
				return
			}
			must.Greater(t, 40*time.Millisecond, time.Since(start))
			// The writer that gave up no longer holds off readers.
			done := make(chan struct{})
			go func() { tree.ReadGate()(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("a reader waited after the commit gave up")
			}
		})
	}
}

// A waiting commit holds off new readers, and gets the gate once the
// readers before it are done.
func TestCommitGate_WaitsForReaders(t *testing.T) {
	t.Parallel()
	tree, err := Open(t.TempDir())
	must.NoError(t, err)
	defer tree.Close()
	rel := tree.ReadGate()
	got := make(chan func(), 1)
	go func() {
		release, err := tree.CommitGate(5 * time.Second)
		must.NoError(t, err)
		got <- release
	}()
	time.Sleep(20 * time.Millisecond)
	reader := make(chan struct{})
	go func() { tree.ReadGate()(); close(reader) }()
	select {
	case <-reader:
		t.Fatal("a new reader went ahead of a waiting commit")
	case <-time.After(50 * time.Millisecond):
	}
	rel()
	(<-got)()
	<-reader
}

func TestKind(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode fs.FileMode
		want string
	}{
		{0, "file"},
		{fs.ModeDir, "directory"},
		{fs.ModeSymlink, "link"},
		{fs.ModeNamedPipe, "named pipe (FIFO)"},
		{fs.ModeSocket, "socket"},
		{fs.ModeDevice | fs.ModeCharDevice, "character device"},
		{fs.ModeDevice, "device"},
		{fs.ModeIrregular, "special file"},
	} {
		must.Eq(t, tc.want, Kind(tc.mode), must.Sprint(tc.mode))
	}
}
