package bench

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Run runs every benchmark and returns the report rows. A row that cannot
// be measured is reported as not met with the error, and the run goes on.
func Run(o Options) []Row {
	var rows []Row
	fail := func(id, what string, err error) {
		fmt.Fprintf(os.Stderr, "benchmark %s (%s): %v\n", id, what, err)
		rows = append(rows, Row{ID: id, What: what, Ours: "error", Target: "–", Note: err.Error()})
	}
	step := func(id, what string, f func() ([]Row, error)) {
		if !o.runs(id) {
			return
		}
		o.logf("running %s: %s", id, what)
		r, err := f()
		if err != nil {
			fail(id, what, err)
			return
		}
		rows = append(rows, r...)
	}
	one := func(f func() (Row, error)) func() ([]Row, error) {
		return func() ([]Row, error) {
			r, err := f()
			if err != nil {
				return nil, err
			}
			return []Row{r}, nil
		}
	}

	step("1", "host round trip", one(func() (Row, error) { return RoundTrip(o) }))

	if !o.runs("2") && !o.runs("3") && !o.runs("4") && !o.runs("5") && !o.runs("7") && !o.runs("8") {
		step("6", "task start", func() ([]Row, error) { return TaskStart(o) })
		return rows
	}
	s, archive, big, fileSize, err := setupServer(o)
	if err != nil {
		fail("2–5, 7, 8", "API server", err)
	} else {
		tree := o.Tree()
		step("2", "folder download", one(func() (Row, error) { return FolderDownload(o, s, tree) }))
		step("3", "zip upload", one(func() (Row, error) { return ZipUpload(o, s, archive, tree) }))
		step("3", "upload memory", one(func() (Row, error) { return UploadMemory(o, s, big) }))
		step("3", "deploy with the command", one(func() (Row, error) { return CLIDeploy(o, s, tree) }))
		step("4", "file download", func() ([]Row, error) { return FileDownload(o, s, fileSize) })
		step("5", "status", func() ([]Row, error) { return StatusLoad(o, s) })
		step("7", "screenshot", func() ([]Row, error) { return Screenshot(o, s) })
		// Last: the zero-downtime deploy switches the site to a version folder.
		step("8", "deploy under load", func() ([]Row, error) { return DeployUnderLoad(o, s) })
		if err := s.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "stop the API server: %v\n", err)
		}
	}
	step("6", "task start", func() ([]Row, error) { return TaskStart(o) })
	// Task start runs last, with the API server gone; the report lists the
	// rows in item order.
	slices.SortStableFunc(rows, func(a, b Row) int { return strings.Compare(a.ID, b.ID) })
	return rows
}

// setupServer writes the data and starts the API server: the mixed tree
// under local/tree, its Info-ZIP archive, the large archive and the single
// file.
func setupServer(o Options) (s *Server, archive, big string, fileSize int64, err error) {
	taskDir := filepath.Join(o.WorkDir, "task")
	local := filepath.Join(taskDir, "local")
	for _, d := range []string{local, filepath.Join(taskDir, "secrets")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, "", "", 0, err
		}
	}
	page := `<!DOCTYPE html><html><body style="font-family:sans-serif"><h1>nomad-iis</h1><p>benchmark site</p></body></html>`
	if err := os.WriteFile(filepath.Join(local, "index.html"), []byte(page), 0o644); err != nil {
		return nil, "", "", 0, err
	}
	o.logf("writing the mixed tree (%s)", MiB(o.Tree().Size()))
	if err := MakeTree(filepath.Join(local, "tree"), o.Tree()); err != nil {
		return nil, "", "", 0, err
	}
	archive = filepath.Join(o.WorkDir, "tree.zip")
	cmd := exec.Command("zip", "-r", "-q", "-1", archive, "tree")
	cmd.Dir = local
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, "", "", 0, fmt.Errorf("zip the tree: %w: %s", err, out)
	}
	bigSize := int64(1 << 30)
	fileSize = 512 << 20
	if o.Quick {
		bigSize, fileSize = 128<<20, 64<<20
	}
	big = filepath.Join(o.WorkDir, "big.zip")
	o.logf("writing the large archive (%s)", MiB(bigSize))
	if err := MakeBigArchive(big, bigSize); err != nil {
		return nil, "", "", 0, err
	}
	if err := writeFile(filepath.Join(local, "file.bin"), func(w io.Writer) error {
		return writeRandom(w, int(fileSize), rand.New(rand.NewPCG(5, 6)))
	}); err != nil {
		return nil, "", "", 0, err
	}
	stateDir := filepath.Join(o.WorkDir, "api-state")
	s, err = StartServer(o.Exe, stateDir, taskDir, o.PlaywrightDriver, o.Browser)
	return s, archive, big, fileSize, err
}
