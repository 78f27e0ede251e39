// Command nomad-iis is the command-line client of the nomad-iis Management
// API, for CI pipelines and operators: it finds a job's allocations through
// the Nomad API, the node of each and that node's Management API, and then
// deploys, downloads, lists, deletes, starts, stops, recycles, takes
// screenshots and dumps, on every allocation at once. It is a separate
// binary from the plugin (nomad_iis), meant for workstations and CI runners.
//
// Exit codes are listed in exitcodes.go and docs/cli.md.
package main

import (
	"context"
	"os"
	"os/signal"

	"golang.org/x/term"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], environment{
		getenv:   os.Getenv,
		stdout:   os.Stdout,
		stderr:   os.Stderr,
		terminal: term.IsTerminal(int(os.Stdout.Fd())),
		progress: term.IsTerminal(int(os.Stderr.Fd())),
	})
	stop()
	os.Exit(code)
}
