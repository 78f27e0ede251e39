package main

import (
	"fmt"
	"io"
	"strings"
	"text/template"
)

// summary is what the program prints once the site serves.
type summary struct {
	Backend     string
	Site        string
	NomadUI     string
	NomadAddr   string
	NomadCLI    string
	APIBase     string
	APIKey      string
	KeyFromEnv  bool
	AllocID     string
	TaskName    string
	JobID       string
	UploadZip   string
	ClientLog   string
	ServerLog   string
	Windows     bool
	SourceBuilt bool
	// CLI is the nomad-iis command (make build puts it in build/).
	CLI string
}

// Export sets a variable in the platform's shell.
func (s summary) Export(name, value string) string {
	if s.Windows {
		return "$env:" + name + " = " + s.Quote(value)
	}
	return "export " + name + "=" + s.Quote(value)
}

// TaskURL is the Management API's address of the sample task.
func (s summary) TaskURL() string {
	return fmt.Sprintf("%s/api/v1/allocs/%s/%s", s.APIBase, s.AllocID, s.TaskName)
}

// Curl is the curl command of the platform's shell: curl.exe in PowerShell,
// where curl is an alias of Invoke-WebRequest.
func (s summary) Curl() string {
	if s.Windows {
		return "curl.exe"
	}
	return "curl"
}

// Quote quotes an argument for both a POSIX shell and PowerShell (single
// quotes; neither expands anything inside them).
func (summary) Quote(v string) string {
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'"
}

var summaryTemplate = template.Must(template.New("summary").Parse(`
nomad-iis is running ({{.Backend}}): job {{.JobID}}, allocation {{.AllocID}}

  Site                {{.Site}}
  Nomad UI            {{.NomadUI}}{{if .SourceBuilt}}
                      (the agent built from source has no web UI; set NOMAD_BIN to an
                      official Nomad binary for it, or use the CLI below){{end}}
  Management API      {{.APIBase}}
  API key             {{.APIKey}}{{if .KeyFromEnv}}  (from NOMAD_IIS_API_KEY){{else}}  (generated; set NOMAD_IIS_API_KEY to choose it){{end}}

Try the Management API (in another terminal):

  # the task's application pools and their worker processes
  {{.Curl}} -sS -H {{.Quote (print "X-Api-Key: " .APIKey)}} {{.Quote (print .TaskURL "/status")}}

  # download the site as a zip
  {{.Curl}} -H {{.Quote (print "X-Api-Key: " .APIKey)}} -o static-sample-app.zip {{.Quote (print .TaskURL "/fs/local")}}

  # upload a new version of the site, then reload {{.Site}}
  {{.Curl}} -X PUT -H {{.Quote (print "X-Api-Key: " .APIKey)}} -H 'Content-Type: application/zip' --data-binary {{.Quote (print "@" .UploadZip)}} {{.Quote (print .TaskURL "/fs/local?clean=true")}}

The same with the nomad-iis command, which finds the job's allocations, their nodes and the
nodes' Management API through Nomad:

  {{.Export "NOMAD_ADDR" .NomadAddr}}
  {{.Export "NOMAD_IIS_API_KEY" .APIKey}}
  {{.CLI}} status --job {{.JobID}}
  {{.CLI}} download --job {{.JobID}} -o static-sample-app.zip local
  {{.CLI}} deploy --job {{.JobID}} --clean {{.Quote .UploadZip}}     # or a folder: deploy --job {{.JobID}} --clean ./site

And Nomad's view of it (the CLI talks to {{.NomadAddr}} by default):

  {{.NomadCLI}} alloc status {{.AllocID}}
  {{.NomadCLI}} alloc logs {{.AllocID}} {{.TaskName}}
  {{.NomadCLI}} alloc signal -s RECYCLE {{.AllocID}} {{.TaskName}}

Logs: {{.ClientLog}} (the client and the plugin), {{.ServerLog}}
Press Ctrl-C to stop the job, the agents and everything they started.
`))

func printSummary(w io.Writer, s summary) {
	if err := summaryTemplate.Execute(w, s); err != nil {
		fmt.Fprintln(w, "run: print the summary:", err)
	}
}
