//go:build !windows

package launcher

import (
	"os"
	"os/exec"
	"syscall"
)

// detach starts the agent in a process group of its own, so that Ctrl-C in
// the terminal reaches the launcher only: the launcher then stops the jobs
// first and the agent after them, in that order.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// interrupt asks the agent to shut down, as Ctrl-C would.
func interrupt(p *os.Process) error { return p.Signal(os.Interrupt) }
