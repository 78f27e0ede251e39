package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomad-iis/nomad-iis/ps"
)

// RoundTrip compares one call on the persistent host with one process per
// call (iissim's ctl subcommand, as drivers that run appcmd.exe or a fresh
// powershell.exe for every operation do), both on the same iissim service.
func RoundTrip(o Options) (Row, error) {
	stateDir, err := os.MkdirTemp(o.WorkDir, "roundtrip-")
	if err != nil {
		return Row{}, err
	}
	path, args := ps.SimCommand(o.Self, stateDir, "")
	host := ps.NewHost(ps.HostConfig{Path: path, Args: args, Logger: hclog.NewNullLogger()})
	defer func() {
		_ = host.Close()
		_ = exec.Command(o.Self[0], append(o.Self[1:], "stop", "--state-dir", stateDir)...).Run()
	}()
	iis := ps.NewIIS(host)
	ctx := context.Background()
	if _, err := iis.TestConnection(ctx); err != nil {
		return Row{}, fmt.Errorf("start the host: %w", err)
	}
	hostCalls, procCalls := 2000, 40
	if o.Quick {
		hostCalls, procCalls = 500, 10
	}
	ctl := func() error {
		cmd := exec.Command(o.Self[0], append(o.Self[1:], "ctl", "--state-dir", stateDir, string(ps.OpTestConnection), "{}")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("ctl: %w: %s", err, out)
		}
		return nil
	}
	if err := ctl(); err != nil { // warm the executable into the page cache
		return Row{}, err
	}
	var ours, theirs []float64
	for range o.Runs {
		start := time.Now()
		for range hostCalls {
			if _, err := iis.TestConnection(ctx); err != nil {
				return Row{}, err
			}
		}
		ours = append(ours, float64(time.Since(start))/float64(hostCalls))
		start = time.Now()
		for range procCalls {
			if err := ctl(); err != nil {
				return Row{}, err
			}
		}
		theirs = append(theirs, float64(time.Since(start))/float64(procCalls))
	}
	o.logf("round trip: host %v, process per call %v", ours, theirs)
	mo, mt := Median(ours), Median(theirs)
	ratio := mt / mo
	return Row{
		ID: "1", What: "IIS operation round trip (TestConnection): persistent host vs one process per call",
		Ours: Dur(time.Duration(mo)) + " per call", Theirs: Dur(time.Duration(mt)) + " per call (iissim ctl)",
		Ratio: ratio, Target: "≥ 50×", Met: ratio >= 50,
		Note: fmt.Sprintf("Both sides talk to the same iissim service; %d host calls and %d process starts per run. "+
			"The process per call is iissim's own `ctl` subcommand (a Go binary that starts in milliseconds); "+
			"powershell.exe importing WebAdministration takes seconds, so the gap on Windows is far wider. "+
			"`go test -bench . ./ps` measures the same against the in-package fake backend.", hostCalls, procCalls),
	}, nil
}
