// Package reliability holds the reliability and security scenarios of
// nomad-iis that span several packages: fault injection (backend, plugin and
// worker processes killed, pools stopped from outside, a full disk), load on
// the Management API, and the report generator (cmd/report) that runs them
// with the fuzz targets and writes bench/RELIABILITY.md.
//
// The scenarios are tests (go test ./reliability). They print their figures
// as "FIGURE key=value ..." log lines, which the report generator reads from
// `go test -json`.
package reliability
