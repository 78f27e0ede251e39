package api

import (
	"fmt"
	"io/fs"
	"net/http/httptest"
	"syscall"
	"testing"

	"github.com/shoenig/test/must"
)

// A write the OS refuses names the file and gives the advice that fits the
// method: only a PATCH is told that PUT stops the pools first.
func TestWriteError_OSRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	denied := fmt.Errorf("apply upload to %q (nothing was changed): %w", "local",
		&fs.PathError{Op: "rename", Path: "local/app.dll", Err: syscall.EACCES})
	busy := &fs.PathError{Op: "unlinkat", Path: "local/app.dll", Err: syscall.EBUSY}
	cases := []struct {
		name    string
		method  string
		err     error
		status  int
		want    []string
		notWant []string
	}{
		{"PATCH denied", "PATCH", denied, 403, []string{`"local/app.dll"`, "refused to replace", "PUT stops the pools first"}, nil},
		{"PUT denied", "PUT", denied, 403, []string{`"local/app.dll"`, "refused to replace", "another process holds it open"}, []string{"PUT stops"}},
		{"DELETE denied", "DELETE", denied, 403, []string{`"local/app.dll"`, "refused to remove", "…/stop"}, []string{"PUT stops"}},
		{"GET denied", "GET", denied, 403, []string{`denied access to "local/app.dll"`}, []string{"PUT"}},
		{"PATCH busy", "PATCH", busy, 409, []string{`"local/app.dll" is in use`, "PUT stops the pools first"}, nil},
		{"PUT busy", "PUT", busy, 409, []string{`"local/app.dll" is in use`, "although the task's pools were stopped"}, []string{"PUT stops"}},
		{"DELETE busy", "DELETE", busy, 409, []string{`"local/app.dll" is in use`, "…/stop"}, []string{"PUT stops"}},
		{"host path never shown", "PUT", &fs.PathError{Op: "open", Path: "/var/nomad/alloc/x/app/local/a", Err: syscall.EACCES}, 403,
			[]string{"refused to replace a file"}, []string{"/var/nomad"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			e.srv.writeError(rec, httptest.NewRequest(tc.method, taskURL("/fs/local/app.dll"), nil), tc.err)
			must.Eq(t, tc.status, rec.Code)
			detail := problemOf(t, rec).Detail
			for _, w := range tc.want {
				must.StrContains(t, detail, w)
			}
			for _, w := range tc.notWant {
				must.StrNotContains(t, detail, w)
			}
		})
	}
}
