//go:build !windows

package iissim

import (
	"fmt"
	"io"
	"os"

	"github.com/nomad-iis/nomad-iis/version"
)

// backendName is the backend name iissim reports.
const backendName = "iissim"

// usage is the command-line help.
const usage = `usage: iissim <command> [flags]

commands:
  host    --state-dir DIR [--extensions-dir DIR]
          serve the contract on stdin/stdout; starts the service for DIR if it is not running
  service --state-dir DIR
          run the service (the stand-in for IIS) in the foreground
  ctl     --state-dir DIR [--extensions-dir DIR] <Operation> ['<json arguments>']
          run one operation and print its JSON result (exit 1 with the error on failure)
  stop    --state-dir DIR
          stop the service of DIR and its worker processes
  worker  (internal) one worker process of an application pool
  --version
          print "iissim <version>" and exit
`

// Main runs one iissim subcommand and returns the process exit code. self
// is the command that runs iissim again (its executable, plus the
// subcommand that leads to Main when iissim is part of another binary); the
// host starts the service and the service its workers through it.
func Main(self []string, args []string) int {
	if len(self) == 0 {
		fmt.Fprintln(os.Stderr, "iissim: the command to run iissim again is unknown")
		return 2
	}
	if len(args) == 0 {
		printUsage(os.Stderr)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "host":
		return runHost(self, rest)
	case "service":
		return runService(self, rest)
	case "worker":
		return runWorker(rest)
	case "ctl":
		return runCtl(self, rest)
	case "stop":
		return runStop(rest)
	case "help", "-h", "--help":
		printUsage(os.Stdout)
		return 0
	case "--version", "-version":
		fmt.Println(version.String("iissim"))
		return 0
	}
	fmt.Fprintf(os.Stderr, "iissim: unknown command %q\n", cmd)
	printUsage(os.Stderr)
	return 2
}

func printUsage(w io.Writer) {
	_, _ = io.WriteString(w, usage)
}
