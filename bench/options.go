package bench

import (
	"fmt"
	"os"
	"time"
)

// Options configure a benchmark run.
type Options struct {
	// Self runs this binary; Self plus "iissim" runs iissim.
	Self []string
	// Exe is this binary (for the serve-api and taskstart modes).
	Exe string
	// WorkDir holds the data, state directories and task directories.
	WorkDir string
	// Quick uses smaller data and fewer samples.
	Quick bool
	// Runs is the number of runs per side.
	Runs int
	// PlaywrightDriver and Browser are for the screenshot row.
	PlaywrightDriver, Browser string
	// CLI is the nomad-iis command, for the deploy row of item 3.
	CLI string
	// Verbose logs each sample to stderr.
	Verbose bool
	// Only, when not empty, runs just these items ("1" … "8").
	Only map[string]bool
}

// runs reports whether item id is selected.
func (o Options) runs(id string) bool { return len(o.Only) == 0 || o.Only[id] }

func (o Options) logf(format string, args ...any) {
	if o.Verbose {
		fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
}

// Tree is the data of the transfer rows.
func (o Options) Tree() TreeSpec {
	if o.Quick {
		return QuickTree
	}
	return FullTree
}
