package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// CLIDeploy compares a deploy of the tree by the nomad-iis command, which
// zips the folder while it uploads it, with what a pipeline does without
// it: Info-ZIP `zip -r -q -1` of the tree into an archive, then curl
// uploading that archive. Both PATCH into a new folder of the same task on
// the same server, which extracts and places the content alike, so the
// difference is the zip and the transfer overlapping or not.
func CLIDeploy(o Options, s *Server, tree TreeSpec) (Row, error) {
	if o.CLI == "" {
		return Row{}, errors.New("the nomad-iis command is not built (hack/bench.sh builds build/nomad-iis)")
	}
	local := filepath.Join(s.TaskDir, "local")
	src := filepath.Join(local, "tree")
	sample := 0
	ours := func() error {
		return devNull(o.WorkDir, o.CLI, "deploy", "--api-addr", "http://"+s.Addr, "--alloc", BenchAlloc, "--task", BenchTask,
			"--api-key", APIKey, "--hot", "--no-wait", "--path", fmt.Sprintf("local/cli-%d", sample), src)
	}
	archive := func() string { return filepath.Join(o.WorkDir, fmt.Sprintf("deploy-%d.zip", sample)) }
	theirs := func() error {
		if err := devNull(local, "zip", "-r", "-q", "-1", archive(), "tree"); err != nil {
			return err
		}
		return devNull(o.WorkDir, "curl", "-sS", "-f", "-o", os.DevNull, "-X", "PATCH",
			"-H", "X-Api-Key: "+APIKey, "-H", "Content-Type: application/zip",
			"--upload-file", archive(), s.URL(fmt.Sprintf("/fs/local/curl-%d", sample)))
	}
	defer func() {
		for i := range sample + 1 {
			_ = os.RemoveAll(filepath.Join(local, fmt.Sprintf("cli-%d", i)))
			_ = os.RemoveAll(filepath.Join(local, fmt.Sprintf("curl-%d", i)))
			_ = os.Remove(filepath.Join(o.WorkDir, fmt.Sprintf("deploy-%d.zip", i)))
		}
	}()
	// One of each first, outside the measurement (and the page cache warm
	// for both).
	for _, f := range []func() error{ours, theirs} {
		if err := f(); err != nil {
			return Row{}, err
		}
	}
	var oursD, theirsD []float64
	for range o.Runs {
		sample++
		syscallSync()
		d, err := timed(ours)
		if err != nil {
			return Row{}, err
		}
		oursD = append(oursD, float64(d))
		syscallSync()
		d, err = timed(theirs)
		if err != nil {
			return Row{}, err
		}
		theirsD = append(theirsD, float64(d))
	}
	syscallSync()
	o.logf("cli deploy: ours %v, zip+curl %v", oursD, theirsD)
	mo, mt := time.Duration(Median(oursD)), time.Duration(Median(theirsD))
	ratio := float64(mt) / float64(mo)
	return Row{
		ID: "3", What: fmt.Sprintf("Deploy a folder (%s, %d files) with the nomad-iis command", MiB(tree.Size()), tree.Files()),
		Ours:   fmt.Sprintf("%s (`nomad-iis deploy DIR`, zipped while it uploads)", Dur(mo)),
		Theirs: fmt.Sprintf("%s (Info-ZIP `zip -r -q -1` to a file, then `curl --upload-file`)", Dur(mt)),
		Ratio:  ratio, Target: "≥ 1.5×", Met: ratio >= 1.5,
		Note: "Both sides PATCH (hot deploy) the same tree into a new folder of the same task on the same API server over " +
			"HTTP on 127.0.0.1, which spools, validates, extracts and places it; each time runs from the start of the " +
			"command to the API's answer. The command is build/nomad-iis (built by hack/bench.sh), run with --api-addr (no Nomad lookup) " +
			"and --no-wait. `sync` runs before each sample (not timed).",
	}, nil
}
