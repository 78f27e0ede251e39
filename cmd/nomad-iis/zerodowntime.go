package main

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/nomad-iis/nomad-iis/api/client"
)

// maxWarmupTimeout is the longest warm-up the Management API accepts.
const maxWarmupTimeout = 10 * time.Minute

// switchOptions are the choices shared by `deploy --zero-downtime` and
// `rollback`: which application directory is switched, and how.
type switchOptions struct {
	app, vdir     string
	warmup        string
	warmupTimeout time.Duration
	allowRestart  bool
}

// switchFlags are the names of the flags of switchOptions.
var switchFlags = []string{"app", "vdir", "warmup", "warmup-timeout", "allow-restart"}

func (o *switchOptions) addFlags(f *pflag.FlagSet) {
	f.StringVar(&o.app, "app", "", `the application's alias in the job file (default: the root application, or the task's only one)`)
	f.StringVar(&o.vdir, "vdir", "", "a virtual directory alias below the application (default: its root directory)")
	f.StringVar(&o.warmup, "warmup", "", "a path (such as /health) the new version must answer with 2xx or 3xx before the switch completes")
	f.DurationVar(&o.warmupTimeout, "warmup-timeout", 0, "how long the warm-up may take (default: the API's, 30s; at most 10m)")
	f.BoolVar(&o.allowRestart, "allow-restart", false, "for a pool with disable_overlapped_recycle: switch by stopping and starting it instead of refusing")
}

// validate checks the options the command line can check; the API checks
// the names of the application and directory.
func (o switchOptions) validate() error {
	if o.warmup != "" && !strings.HasPrefix(o.warmup, "/") {
		return usagef("--warmup: %q must start with /", o.warmup)
	}
	if o.warmupTimeout != 0 && o.warmup == "" {
		return usagef("--warmup-timeout needs --warmup PATH")
	}
	if o.warmupTimeout < 0 || o.warmupTimeout > maxWarmupTimeout {
		return usagef("--warmup-timeout: %s is not between 1ms and %s", o.warmupTimeout, maxWarmupTimeout)
	}
	return nil
}

func (o switchOptions) target() client.DeployTarget {
	return client.DeployTarget{App: o.app, VDir: o.vdir, Warmup: o.warmup, WarmupTimeout: o.warmupTimeout, AllowRestart: o.allowRestart}
}

// changedFlags lists "--name" for each of names set on the command line.
func changedFlags(f *pflag.FlagSet, names ...string) []string {
	var out []string
	for _, n := range names {
		if f.Changed(n) {
			out = append(out, "--"+n)
		}
	}
	return out
}

// checkZeroDowntimeFlags refuses the flags that do not combine: those of
// the upload deploy with --zero-downtime, those of the switch without it.
func checkZeroDowntimeFlags(f *pflag.FlagSet, zeroDowntime bool) error {
	if zeroDowntime {
		if bad := changedFlags(f, "hot", "clean", "path", "no-wait", "wait-timeout"); len(bad) > 0 {
			return usagef("--zero-downtime does not combine with %s: it always deploys the whole archive into a new version folder "+
				"beside the application's folder and switches to it with an overlapped recycle, without stopping the pools", strings.Join(bad, ", "))
		}
		return nil
	}
	if bad := changedFlags(f, switchFlags...); len(bad) > 0 {
		return usagef("%s only apply to --zero-downtime", strings.Join(bad, ", "))
	}
	return nil
}

// deployZeroDowntime sends src to one allocation's …/deploy and says what
// the directory serves now; with waitHTTP it then waits for the site.
func (a *app) deployZeroDowntime(ctx context.Context, t *target, c *client.Client, src client.Source, o deployOptions, many bool) (string, error) {
	rep := a.newReporter(t, "upload", many)
	res, err := c.Deploy(ctx, t.clientTask(), src, client.DeployOptions{DeployTarget: o.zdd.target(), Progress: rep.progress()})
	rep.finish(err == nil)
	if err != nil {
		return "", err
	}
	line := fmt.Sprintf("deployed version %s (%s, %s) to %s", res.Version.ID, countFiles(res.Version.Files), humanBytes(res.Version.Bytes), switchSummary(res))
	if o.waitHTTP != "" {
		code, err := waitHTTP(ctx, t, o.waitHTTP, o.waitHTTPTimeout)
		if err != nil {
			return "", fmt.Errorf("%s, but: %w", line, err)
		}
		line += fmt.Sprintf(", GET %s answered %d", o.waitHTTP, code)
	}
	return line, nil
}

// switchSummary is "/ (Overlapped, warm-up 200), previous v2, kept initial
// v2 v3, removed v1".
func switchSummary(res *client.DeployResult) string {
	s := path.Join(res.Application, res.VirtualDirectory) + " (" + res.Mode
	if res.WarmupStatus != 0 {
		s += fmt.Sprintf(", warm-up %d", res.WarmupStatus)
	}
	s += ")"
	if res.PreviousVersion != "" {
		s += ", previous " + res.PreviousVersion
	}
	s += ", kept " + strings.Join(res.KeptVersions, " ")
	if len(res.RemovedVersions) > 0 {
		s += ", removed " + strings.Join(res.RemovedVersions, " ")
	}
	return s
}

func (a *app) rollbackCommand() *cobra.Command {
	var o switchOptions
	var version string
	cmd := &cobra.Command{
		Use:   "rollback",
		Short: "Switch an application back to a version kept by deploy --zero-downtime, on every allocation",
		Long: `rollback switches the application's directory (--app, --vdir) of every allocation back
to a kept version: --version (such as v2, or initial for the job's own folder; see
status), by default the newest one before the current version. It switches the
same way as deploy --zero-downtime: in one IIS configuration change with an
overlapped recycle, after the warm-up when --warmup is given.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			ctx := cmd.Context()
			targets, err := a.targets(ctx)
			if err != nil {
				return err
			}
			return a.each(ctx, targets, func(ctx context.Context, t *target, c *client.Client) (string, error) {
				res, err := c.Rollback(ctx, t.clientTask(), client.RollbackOptions{DeployTarget: o.target(), Version: version})
				if err != nil {
					return "", err
				}
				return "rolled back to version " + res.Version.ID + " at " + switchSummary(res), nil
			})
		},
	}
	cmd.Flags().StringVar(&version, "version", "", "the kept version to switch to (default: the newest one before the current)")
	o.addFlags(cmd.Flags())
	return cmd
}
