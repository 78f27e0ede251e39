//go:build !windows

package driver

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"

	"github.com/shoenig/test/must"
)

// TestRunExec_AsAnotherUser runs a command as a user other than the
// plugin's, as exec does when iissim's workers run as another user: as
// root the command gets that user, otherwise starting it is refused.
func TestRunExec_AsAnotherUser(t *testing.T) {
	t.Parallel()
	for _, tty := range []bool{false, true} {
		ident := &execIdentity{name: "nobody", uid: 65534, gid: 65534, switchUser: true}
		var out bytes.Buffer
		req := &execRequest{
			argv:   []string{"/bin/sh", "-c", "id -u; id -g; if tty >/dev/null; then echo terminal; else echo pipe; fi"},
			dir:    "/",
			env:    os.Environ(),
			ident:  ident,
			tty:    tty,
			stdout: &out,
			stderr: io.Discard,
		}
		res, err := runExec(context.Background(), req)
		if os.Geteuid() != 0 {
			must.ErrorContains(t, err, "operation not permitted")
			continue
		}
		must.NoError(t, err)
		must.Eq(t, 0, res.ExitCode, must.Sprint(out.String()))
		want := "65534\n65534\npipe\n"
		if tty {
			want = "65534\r\n65534\r\nterminal\r\n"
		}
		must.Eq(t, want, out.String(), must.Sprintf("tty=%v", tty))
	}
}
