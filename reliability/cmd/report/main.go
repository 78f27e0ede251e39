// Command report runs the reliability scenarios with `go test -json`, reads
// the fuzz summary written by hack/fuzz.sh, and writes bench/RELIABILITY.md:
// for each scenario what was done, what was checked, and the result with
// its figures.
//
//	go run ./reliability/cmd/report [-out bench/RELIABILITY.md] [-fuzz build/fuzz-summary.json] [-e2e]
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

func main() {
	out := flag.String("out", "bench/RELIABILITY.md", "report file to write")
	fuzzSummary := flag.String("fuzz", "build/fuzz-summary.json", "summary written by hack/fuzz.sh")
	e2e := flag.Bool("e2e", false, "also run the end-to-end specs (needs NOMAD_BIN and NOMAD_IIS_PLUGIN)")
	flag.Parse()

	var results []result
	failed := false
	for _, sc := range scenarios {
		if sc.E2E && !*e2e {
			results = append(results, result{scenario: sc, Status: "not run", Note: "end-to-end specs run with -e2e (make report-reliability E2E=1) or make test-e2e"})
			continue
		}
		fmt.Fprintf(os.Stderr, "report: %s ...\n", sc.Name)
		r := run(sc)
		fmt.Fprintf(os.Stderr, "report: %s: %s (%.1fs)\n", sc.Name, r.Status, r.Seconds)
		if r.Status != "pass" {
			failed = true
		}
		results = append(results, r)
	}
	fz, fzErr := readFuzz(*fuzzSummary)
	if fzErr == nil {
		for _, t := range fz.Targets {
			if t.Crashes > 0 || t.Exit != 0 {
				failed = true
			}
		}
	}
	var buf bytes.Buffer
	writeReport(&buf, results, fz, fzErr)
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "report: %v\n", err)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "report: wrote %s\n", *out)
	if failed {
		os.Exit(1)
	}
}

// result is the outcome of one scenario's go test run.
type result struct {
	scenario
	Status  string // pass, fail, not run
	Seconds float64
	Tests   []string
	Figures []string
	Note    string
	Failure string
}

// testEvent is one line of `go test -json`.
type testEvent struct {
	Action  string
	Package string
	Test    string
	Output  string
	Elapsed float64
}

func run(sc scenario) result {
	r := result{scenario: sc}
	args := []string{"test", "-json", "-count=1", "-timeout", "20m"}
	if sc.Tags != "" {
		args = append(args, "-tags", sc.Tags)
	}
	args = append(args, "-run", "^("+sc.Test+")", sc.Pkg)
	if sc.GinkgoFocus != "" {
		args = append(args, "-args", "-ginkgo.focus="+sc.GinkgoFocus, "-ginkgo.no-color")
	}
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), sc.Env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	passed, failedTests := map[string]bool{}, []string{}
	var failOut strings.Builder
	sc2 := bufio.NewScanner(bytes.NewReader(stdout))
	sc2.Buffer(make([]byte, 1<<20), 16<<20)
	for sc2.Scan() {
		var ev testEvent
		if json.Unmarshal(sc2.Bytes(), &ev) != nil {
			continue
		}
		switch {
		case ev.Action == "output" && strings.Contains(ev.Output, "FIGURE "):
			_, f, _ := strings.Cut(ev.Output, "FIGURE ")
			r.Figures = append(r.Figures, strings.TrimSpace(f))
		case ev.Action == "output" && strings.HasPrefix(strings.TrimSpace(ev.Output), "Ran ") && strings.Contains(ev.Output, " Specs"):
			// Ginkgo: "Ran 1 of 18 Specs in 9.694 seconds".
			f := strings.Fields(strings.TrimSpace(ev.Output))
			if len(f) >= 4 {
				r.Figures = append(r.Figures, fmt.Sprintf("ginkgo_specs_run=%s ginkgo_specs_total=%s", f[1], f[3]))
			}
		case ev.Action == "output" && ev.Test != "" && (strings.Contains(ev.Output, "Error") || strings.Contains(ev.Output, "_test.go:") || strings.Contains(ev.Output, "[FAIL]")):
			if failOut.Len() < 2000 {
				failOut.WriteString(ev.Output)
			}
		case ev.Action == "pass" && ev.Test != "" && !strings.Contains(ev.Test, "/"):
			passed[ev.Test] = true
		case ev.Action == "fail" && ev.Test != "" && !strings.Contains(ev.Test, "/"):
			failedTests = append(failedTests, ev.Test)
		case (ev.Action == "pass" || ev.Action == "fail") && ev.Test == "":
			r.Seconds += ev.Elapsed
		}
	}
	for t := range passed {
		r.Tests = append(r.Tests, t)
	}
	switch {
	case err == nil && len(passed) > 0:
		r.Status = "pass"
	case err == nil:
		r.Status = "fail"
		r.Failure = "no test matched " + sc.Test
	default:
		r.Status = "fail"
		r.Failure = strings.TrimSpace(failOut.String())
		if len(failedTests) > 0 {
			r.Failure = "failed: " + strings.Join(failedTests, ", ") + "\n" + r.Failure
		}
		if r.Failure == "" {
			r.Failure = strings.TrimSpace(lastLines(stderr.String(), 10))
		}
	}
	return r
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// fuzzSummary is what hack/fuzz.sh writes.
type fuzzSummary struct {
	Go                   string `json:"go"`
	Date                 string `json:"date"`
	FuzzTime             string `json:"fuzztime"`
	WindowsTestBuildExit int    `json:"windows_test_build_exit"`
	Targets              []struct {
		Target       string `json:"target"`
		Package      string `json:"package"`
		Seconds      int    `json:"seconds"`
		Execs        int64  `json:"execs"`
		Crashes      int    `json:"crashes"`
		Exit         int    `json:"exit"`
		Retried      int    `json:"retried"`
		FailingInput string `json:"failing_input"`
	} `json:"targets"`
}

func readFuzz(path string) (*fuzzSummary, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var fz fuzzSummary
	if err := json.Unmarshal(b, &fz); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &fz, nil
}

func machine() string {
	cpu := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				_, cpu, _ = strings.Cut(l, ":")
				cpu = strings.TrimSpace(cpu)
				break
			}
		}
	}
	m := fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU())
	if cpu != "" {
		m += " (" + cpu + ")"
	}
	return m
}

func goVersion() string {
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimSpace(string(out))
}

func writeReport(w *bytes.Buffer, results []result, fz *fuzzSummary, fzErr error) {
	fmt.Fprintf(w, "# nomad-iis reliability and security report\n\n")
	fmt.Fprintf(w, "Generated by `make report-reliability` (`go run ./reliability/cmd/report`). Do not edit by hand.\n\n")
	fmt.Fprintf(w, "- Date: %s\n- Machine: %s\n- Go: %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), machine(), goVersion())
	if v := os.Getenv("LOAD_DURATION"); v != "" {
		fmt.Fprintf(w, "- LOAD_DURATION: %s\n", v)
	}
	pass, fail, notRun := 0, 0, 0
	for _, r := range results {
		switch r.Status {
		case "pass":
			pass++
		case "fail":
			fail++
		default:
			notRun++
		}
	}
	fmt.Fprintf(w, "- Scenarios: %d passed, %d failed, %d not run\n\n", pass, fail, notRun)

	fmt.Fprintf(w, "## Summary\n\n| Area | Scenario | Result | Time |\n|---|---|---|---|\n")
	for _, r := range results {
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", r.Area, r.Name, badge(r.Status), secs(r))
	}
	fmt.Fprintf(w, "| Hostile input | Fuzzing (%s) | %s | |\n\n", fuzzTime(fz), fuzzBadge(fz, fzErr))

	area := ""
	for _, r := range results {
		if r.Area != area {
			area = r.Area
			fmt.Fprintf(w, "## %s\n\n", area)
		}
		fmt.Fprintf(w, "### %s\n\n", r.Name)
		fmt.Fprintf(w, "- **Done:** %s\n- **Checked:** %s\n", r.Done, r.Checked)
		fmt.Fprintf(w, "- **Run:** `go test %s-run '^(%s)' %s`\n", tagArg(r.Tags), r.Test, r.Pkg)
		fmt.Fprintf(w, "- **Result:** %s", badge(r.Status))
		if r.Seconds > 0 {
			fmt.Fprintf(w, " in %.1f s", r.Seconds)
		}
		if len(r.Tests) > 0 {
			fmt.Fprintf(w, " (%d tests)", len(r.Tests))
		}
		fmt.Fprintln(w)
		if r.Note != "" {
			fmt.Fprintf(w, "- **Note:** %s\n", r.Note)
		}
		for _, f := range r.Figures {
			fmt.Fprintf(w, "- **Figures:** %s\n", figureText(f))
		}
		if r.Failure != "" {
			fmt.Fprintf(w, "\n```\n%s\n```\n", r.Failure)
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintf(w, "## Defects these scenarios found (fixed)\n\n")
	for _, d := range []string{
		"FuzzParseDuration: a TimeSpan of more than 106751 days (\"10675199.02:48:05.4775807\", valid in .NET) overflowed time.Duration and came out negative; such durations are now refused.",
		"Load: a folder download or file GET during a clean upload's commit saw the folder empty or half replaced (404 for index.html, ZIPs matching no uploaded version); commits now wait for downloads of the same task directory and downloads for commits.",
		"Disk full: ENOSPC while spooling a ZIP, or writing a chunked file, answered 500 \"internal error\"; it is now 507 saying the task's volume is full and nothing was changed.",
	} {
		fmt.Fprintf(w, "- %s\n", d)
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "## Hostile input: fuzzing\n\n")
	fmt.Fprintf(w, "- **Done:** each target runs under `go test -fuzz` for a bounded time (`hack/fuzz.sh`, FUZZTIME), starting from the committed seed corpus in `testdata/fuzz/`.\n")
	fmt.Fprintf(w, "- **Checked:** never panics; an accepted path stays inside the task directory under POSIX and Windows rules and never names secrets/, private/, \"..\", \":\" or a device; an accepted ZIP extracts only inside its staging folder, without links, exactly its declared bytes; a duration is refused with the format hint or round-trips through both formats; every task-config error names its option; an accepted ps frame survives re-encoding.\n\n")
	if fzErr != nil {
		fmt.Fprintf(w, "Not run: %v (run `make fuzz` first).\n\n", fzErr)
		return
	}
	fmt.Fprintf(w, "Fuzzed on %s with %s, %s per target.\n\n", fz.Date, fz.Go, fz.FuzzTime)
	fmt.Fprintf(w, "| Target | Package | Executions | Crashes | Result |\n|---|---|---:|---:|---|\n")
	var total int64
	for _, t := range fz.Targets {
		res := badge("pass")
		if t.Crashes > 0 || t.Exit != 0 {
			res = badge("fail")
			if t.FailingInput != "" {
				res += " (" + t.FailingInput + ")"
			}
		}
		if t.Retried > 0 {
			res += " (second run: the first lost its fuzzing worker without a finding)"
		}
		total += t.Execs
		fmt.Fprintf(w, "| %s | `%s` | %d | %d | %s |\n", t.Target, t.Package, t.Execs, t.Crashes, res)
	}
	fmt.Fprintf(w, "\nTotal: %d executions. ", total)
	if fz.WindowsTestBuildExit == 0 {
		fmt.Fprintf(w, "The resolver's and ZIP validator's test binaries build with GOOS=windows; their Windows rules (device names, trailing dots and spaces, colons, backslashes, 8.3 names) are string rules and run on every OS.\n")
	} else {
		fmt.Fprintf(w, "GOOS=windows go test -c of the resolver FAILED (exit %d).\n", fz.WindowsTestBuildExit)
	}
}

func badge(status string) string {
	switch status {
	case "pass":
		return "PASS"
	case "fail":
		return "**FAIL**"
	}
	return "not run"
}

func fuzzBadge(fz *fuzzSummary, err error) string {
	if err != nil {
		return "not run"
	}
	for _, t := range fz.Targets {
		if t.Crashes > 0 || t.Exit != 0 {
			return "**FAIL**"
		}
	}
	return "PASS"
}

func fuzzTime(fz *fuzzSummary) string {
	if fz == nil {
		return "not run"
	}
	return fmt.Sprintf("%d targets × %s", len(fz.Targets), fz.FuzzTime)
}

func secs(r result) string {
	if r.Seconds == 0 {
		return ""
	}
	return fmt.Sprintf("%.1f s", r.Seconds)
}

func tagArg(tags string) string {
	if tags == "" {
		return ""
	}
	return "-tags " + tags + " "
}

// figureText renders "a=1 b=2" as "a = 1, b = 2".
func figureText(f string) string {
	parts := strings.Fields(f)
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if ok {
			parts[i] = k + " = " + v
		}
	}
	return strings.Join(parts, ", ")
}
