//go:build windows

package launcher

import (
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/windows"
)

// detach starts the agent in a console process group of its own, so that
// Ctrl-C in the console reaches the launcher only: the launcher then stops
// the jobs first and the agent after them, in that order.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: windows.CREATE_NEW_PROCESS_GROUP}
}

// interrupt sends CTRL_BREAK to the agent's process group, which Go
// programs (Nomad included) receive as os.Interrupt.
func interrupt(p *os.Process) error {
	return windows.GenerateConsoleCtrlEvent(windows.CTRL_BREAK_EVENT, uint32(p.Pid))
}
