package api

import (
	"bytes"
	"testing"
	"time"

	"github.com/nomad-iis/nomad-iis/api/fsroot"
	"github.com/nomad-iis/nomad-iis/internal/testkit"
	"github.com/shoenig/test/must"
)

// A folder download holds the tree's read gate for its whole walk. A PUT
// that arrives meanwhile must wait for it with the site still up: the pools
// are stopped only once the commit can go ahead.
func TestFS_PutWaitsForDownloadBeforeStoppingPools(t *testing.T) {
	e := newEnv(t)
	def, api := e.task.AppPools["default"], e.task.AppPools["api"]
	tree, err := fsroot.Open(e.task.TaskDir)
	must.NoError(t, err)
	defer tree.Close()

	release := tree.ReadGate() // a download in progress
	done := make(chan int, 1)
	go func() {
		rec := e.do("PUT", taskURL("/fs/local"), bytes.NewReader(testkit.MakeZip(testkit.ZipEntry{Name: "index.html", Body: "v2"})),
			withKey(testKey), withHeader("Content-Type", "application/zip"))
		done <- rec.Code
	}()
	// While the download runs, the PUT may spool and extract, but it must
	// not touch the pools.
	deadline := time.Now().Add(500 * time.Millisecond)
	for time.Now().Before(deadline) {
		for _, c := range e.iis.callLog() {
			must.StrNotContains(t, c, "StopAppPool", must.Sprint("pools stopped while a download held the folder"))
		}
		select {
		case code := <-done:
			t.Fatalf("PUT finished (%d) while a download held the folder", code)
		default:
		}
		time.Sleep(10 * time.Millisecond)
	}
	release()
	must.Eq(t, 200, <-done)
	must.Eq(t, []string{"StopAppPool " + def, "StopAppPool " + api, "StartAppPool " + def, "StartAppPool " + api}, e.iis.callLog())
}
