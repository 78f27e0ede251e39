package iissim

import (
	"fmt"
	"os"
)

// Main runs one iissim subcommand. iissim needs Unix process and socket
// semantics; on Windows the real IIS is driven through PowerShell instead.
func Main(self []string, args []string) int {
	fmt.Fprintln(os.Stderr, "iissim runs on Linux and macOS; use the powershell backend on Windows")
	return 2
}
