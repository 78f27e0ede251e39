// Command benchreport runs the nomad-iis benchmarks and writes the Markdown
// report (bench/REPORT.md by default):
//
//	go run ./bench/cmd/benchreport [-out bench/REPORT.md] [-runs 5] [-v]
//
// BENCH_QUICK=1 uses smaller data for a smoke run. The same binary also
// serves as iissim ("iissim …"), as the Management API server whose memory
// is measured ("serve-api …"), as the driver process of the task start
// benchmark ("taskstart …") and as the bare TCP sender that file downloads
// are compared with ("sendfile FILE").
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/nomad-iis/nomad-iis/bench"
	"github.com/nomad-iis/nomad-iis/iissim"
)

func main() {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchreport: %v\n", err)
		os.Exit(1)
	}
	self := []string{exe, "iissim"}
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "iissim":
			os.Exit(iissim.Main(self, os.Args[2:]))
		case "serve-api":
			os.Exit(bench.ServeMain(self, os.Args[2:]))
		case "taskstart":
			os.Exit(bench.TaskStartMain(self, os.Args[2:]))
		case "sendfile":
			os.Exit(bench.SendfileMain(os.Args[2:]))
		}
	}
	os.Exit(run(exe, self))
}

func run(exe string, self []string) int {
	out := flag.String("out", filepath.Join("bench", "REPORT.md"), "the report to write")
	runs := flag.Int("runs", 5, "runs per side (medians are reported)")
	verbose := flag.Bool("v", false, "log every sample to stderr")
	only := flag.String("only", "", "comma-separated items to run (1-8); default all")
	keep := flag.Bool("keep", false, "keep the work directory (data, archives, state) and print its path")
	cli := flag.String("cli", filepath.Join("build", "nomad-iis"), "the nomad-iis command, for the deploy row of item 3")
	flag.Parse()
	var sel map[string]bool
	if *only != "" {
		sel = map[string]bool{}
		for _, id := range strings.Split(*only, ",") {
			sel[strings.TrimSpace(id)] = true
		}
	}
	quick := os.Getenv("BENCH_QUICK") == "1"
	if quick && *runs > 3 {
		*runs = 3
	}
	work, err := os.MkdirTemp("", "nomad-iis-bench-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchreport: %v\n", err)
		return 1
	}
	if *keep {
		fmt.Fprintf(os.Stderr, "benchreport: work directory %s\n", work)
	} else {
		defer os.RemoveAll(work)
	}
	driverDir := os.Getenv("NOMAD_IIS_PLAYWRIGHT_DRIVER")
	if driverDir == "" {
		driverDir, _ = filepath.Abs(filepath.Join(".cache", "playwright"))
	}
	browser := os.Getenv("NOMAD_IIS_BROWSER")
	if browser == "" {
		browser = "/usr/bin/chromium"
	}
	cliPath, err := filepath.Abs(*cli)
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchreport: -cli: %v\n", err)
		return 2
	}
	o := bench.Options{Self: self, Exe: exe, WorkDir: work, Quick: quick, Runs: *runs, CLI: cliPath,
		PlaywrightDriver: driverDir, Browser: browser, Verbose: *verbose, Only: sel}
	start := time.Now()
	rows := bench.Run(o)
	cmd := "make bench"
	if quick {
		cmd = "BENCH_QUICK=1 make bench"
	}
	if *only != "" {
		cmd = "./hack/bench.sh -only " + *only
	}
	meta := bench.Meta{Date: start, GoVersion: runtime.Version(), OS: runtime.GOOS + "/" + runtime.GOARCH,
		CPU: cpuModel(), Cores: runtime.NumCPU(), MemoryMiB: memTotalMiB(), Quick: quick, Runs: *runs,
		Command: cmd, Duration: time.Since(start)}
	var b bytes.Buffer
	if err := bench.Render(&b, meta, rows); err != nil {
		fmt.Fprintf(os.Stderr, "benchreport: %v\n", err)
		return 1
	}
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "benchreport: %v\n", err)
		return 1
	}
	fmt.Print(b.String())
	return 0
}

// cpuModel is the "model name" of /proc/cpuinfo.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

// memTotalMiB is MemTotal of /proc/meminfo.
func memTotalMiB() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	var kb int64
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			_, _ = fmt.Sscanf(strings.TrimSpace(rest), "%d kB", &kb)
		}
	}
	return kb >> 10
}
