// Package iisrules is IIS's rules for what the contract sets, written once:
// the allowed values of every pool setting, the ranges and granularity of
// its numbers and durations, the characters IIS refuses in names, which
// names IIS compares case-sensitively, and when two site bindings cannot
// both exist.
//
// The driver validates a job against these rules before anything is
// created; iissim enforces the same tables, so that a test on Linux fails
// where IIS would; and a test of the scripts package holds the PowerShell
// module's own tables equal to these.
//
// Every limit cites the IIS 10 configuration schema (IIS_schema.xml,
// %windir%\System32\inetsrv\config\schema), quoted as
// "schema: <section>/<attribute> ...".
package iisrules
