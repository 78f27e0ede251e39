package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nomad-iis/nomad-iis/version"
)

// environment is what the command reads from and writes to; tests replace it.
type environment struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
	// terminal: stdout is a terminal (tables for people); progress: stderr
	// is one (progress bars instead of plain lines).
	terminal, progress bool
}

// Environment variables of the credentials, beside the nomad CLI's own.
const (
	envAPIKey = "NOMAD_IIS_API_KEY"
	envToken  = "NOMAD_IIS_TOKEN"
)

// globals are the options every command shares.
type globals struct {
	job, group, task, alloc string
	namespace, region       string
	apiAddr                 string
	apiKey, token           string
	parallel                int
	retries                 int
}

// app is one run of the command.
type app struct {
	env environment
	g   globals
}

// run executes args and returns the exit code.
func run(ctx context.Context, args []string, env environment) int {
	a := &app{env: env}
	root := a.rootCommand()
	root.SetArgs(singleDashLongFlags(root, args))
	root.SetOut(env.stdout)
	root.SetErr(env.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var multi *allocFailures
	if errors.As(err, &multi) {
		return multi.code // each failure has had its line already
	}
	if isFlagError(err) {
		err = &usageError{msg: err.Error()}
	}
	fmt.Fprintf(env.stderr, "nomad-iis: %s\n", oneLine(err.Error()))
	return exitCode(err)
}

// isFlagError recognises cobra's and pflag's command-line errors.
func isFlagError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown flag", "unknown shorthand flag", "unknown command", "flag needs an argument",
		"invalid argument", "accepts ", "requires at least", "requires at most", "if any flags in the group", "none of the others can be"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// oneLine folds an error onto one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "nomad-iis",
		Short: "Deploy to and manage IIS tasks of Nomad jobs through the nomad-iis Management API",
		Long: `nomad-iis finds a job's allocations through the Nomad API (NOMAD_ADDR, NOMAD_TOKEN,
NOMAD_NAMESPACE, NOMAD_REGION, NOMAD_CACERT, NOMAD_CLIENT_CERT, NOMAD_CLIENT_KEY,
NOMAD_SKIP_VERIFY), the node of each and the node's Management API, and acts on
every running allocation. Credentials of the Management API: NOMAD_IIS_API_KEY
or NOMAD_IIS_TOKEN (a JWT), or --api-key / --token.

This is the client. The task driver plugin is the other binary, nomad_iis.

Exit codes: 0 success, 1 failure, 2 usage, 3 not found, 4 busy after retries.`,
		Version:       version.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("nomad-iis {{.Version}}\n")
	f := root.PersistentFlags()
	f.StringVar(&a.g.job, "job", "", "the job's ID (its name, unless the job file sets another)")
	f.StringVar(&a.g.group, "group", "", "only allocations of this task group")
	f.StringVar(&a.g.task, "task", "", "the iis task (default: the group's only iis task)")
	f.StringVar(&a.g.alloc, "alloc", "", "one allocation by ID (or a unique prefix), instead of --job")
	f.StringVar(&a.g.namespace, "namespace", "", "Nomad namespace (default NOMAD_NAMESPACE, else default)")
	f.StringVar(&a.g.region, "region", "", "Nomad region (default NOMAD_REGION)")
	f.StringVar(&a.g.apiAddr, "api-addr", "", "call this Management API (http://node:5004) for --alloc and --task directly, without asking Nomad")
	f.StringVar(&a.g.apiKey, "api-key", "", "Management API key (default "+envAPIKey+")")
	f.StringVar(&a.g.token, "token", "", "Management API JWT (default "+envToken+")")
	f.IntVar(&a.g.parallel, "parallel", 4, "allocations acted on at once")
	f.IntVar(&a.g.retries, "retries", 4, "retries of a busy answer (409, 429, 503 with Retry-After), each after the delay the API asks for")
	root.AddCommand(a.statusCommand(), a.deployCommand(), a.rollbackCommand(), a.downloadCommand(), a.listCommand(), a.deleteCommand(),
		a.poolCommand("start", "Start the task's application pools"),
		a.poolCommand("stop", "Stop the task's application pools (the allocation keeps running)"),
		a.poolCommand("recycle", "Recycle the task's application pools"),
		a.screenshotCommand(), a.dumpCommand(), a.tokenCommand())
	return root
}

// singleDashLongFlags rewrites -namespace=x (the nomad CLI's style) to
// --namespace=x for every long flag the command tree knows; arguments after
// "--" are left alone.
func singleDashLongFlags(root *cobra.Command, args []string) []string {
	known := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, fs := range []*pflag.FlagSet{c.PersistentFlags(), c.LocalFlags()} {
			fs.VisitAll(func(f *pflag.Flag) { known[f.Name] = true })
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	out := make([]string, 0, len(args))
	for i, arg := range args {
		if arg == "--" {
			return append(out, args[i:]...)
		}
		if strings.HasPrefix(arg, "-") && !strings.HasPrefix(arg, "--") && len(arg) > 2 {
			name, _, _ := strings.Cut(arg[1:], "=")
			if known[name] {
				arg = "-" + arg
			}
		}
		out = append(out, arg)
	}
	return out
}
