//go:build !windows

package ps

import "syscall"

// sysProcAttr starts the backend as a plain child. It deliberately does not
// get a process group of its own for the host to kill: the host kills only
// its direct child, and iissim's service daemon detaches itself so that it
// outlives the host, as IIS outlives the plugin.
func sysProcAttr() *syscall.SysProcAttr {
	return nil
}
