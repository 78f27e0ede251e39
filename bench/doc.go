// Package bench measures nomad-iis against the tools an operator would
// otherwise use (a process per IIS call, Info-ZIP, unzip, cat) and writes
// the results as a Markdown report (bench/REPORT.md).
//
// Every comparison runs both sides in one run on the same data, alternating
// ours and theirs, and reports medians of several runs. The pieces measured
// are the real ones: the process host over iissim, the Management API served
// over TCP on 127.0.0.1 from a child process (so that its memory can be read
// from /proc), and the driver starting tasks on iissim.
//
// The entry point is the benchreport command (bench/cmd/benchreport), which
// `make bench` runs; BENCH_QUICK=1 runs the same rows on smaller data.
package bench
