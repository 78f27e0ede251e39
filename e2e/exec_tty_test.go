//go:build e2e && !windows

package e2e

import (
	"bytes"
	"io"
	"os/exec"

	"github.com/creack/pty"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// ttyScript names its terminal and prints its size once the CLI's size
// arrived (it travels apart from the command, so it may come after the
// start; 10 s at most), then exits with 5.
const ttyScript = `tty; i=0; while [ "$(stty size)" != "33 111" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; stty size; exit 5`

// The -t spec runs the nomad CLI on a terminal of its own, as a user at a
// shell does: the CLI insists on one for -t and sends its size.
var _ = Describe("nomad alloc exec -t", func() {
	It("gives the command a terminal of the user's size", func(ctx SpecContext) {
		d := deploy(ctx, pidJob)
		cmd := exec.CommandContext(ctx, cluster.NomadBin(), execCommand(d.Alloc.ID, ttyScript, "-t")...)
		cmd.Env = cluster.CLIEnv()
		term, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 33, Cols: 111})
		Expect(err).NotTo(HaveOccurred())
		defer term.Close()
		var out bytes.Buffer
		copied := make(chan struct{})
		go func() {
			defer close(copied)
			_, _ = io.Copy(&out, term) // ends with EIO once the CLI exits
		}()
		err = cmd.Wait()
		<-copied
		var exitErr *exec.ExitError
		Expect(err).To(BeAssignableToTypeOf(exitErr), out.String())
		Expect(err.(*exec.ExitError).ExitCode()).To(Equal(5), out.String())
		Expect(out.String()).To(ContainSubstring("/dev/pts/"), "tty names a terminal")
		Expect(out.String()).To(ContainSubstring("33 111"), "the terminal has the CLI's size")
	}, NodeTimeout(2*time.Minute))
})
