// Command iissim is the stand-in for IIS on Linux and macOS: it serves the
// operations of the nomad-iis contract for real (sites served over HTTP on
// their binding ports, worker processes with real PIDs, configuration on
// disk), so that the driver and its tests run without Windows. It is a test
// and demo backend; see package github.com/nomad-iis/nomad-iis/iissim for
// what it does and its limits. Run "iissim help" for the commands.
package main

import (
	"fmt"
	"os"

	"github.com/nomad-iis/nomad-iis/iissim"
)

func main() {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "iissim: %v\n", err)
		os.Exit(1)
	}
	os.Exit(iissim.Main([]string{exe}, os.Args[1:]))
}
