package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nomad-iis/nomad-iis/api/client"
)

// pollInterval is how often a deploy checks the pools or the site.
const pollInterval = 250 * time.Millisecond

type deployOptions struct {
	path            string
	hot, clean      bool
	noWait          bool
	waitTimeout     time.Duration
	waitHTTP        string
	waitHTTPTimeout time.Duration
	// zeroDowntime deploys through …/deploy with zdd's options.
	zeroDowntime bool
	zdd          switchOptions
}

func (a *app) deployCommand() *cobra.Command {
	var o deployOptions
	cmd := &cobra.Command{
		Use:   "deploy DIR|ZIP",
		Short: "Upload a folder (zipped while it is sent) or a ZIP to every allocation, then wait for the pools",
		Long: `deploy uploads a folder, zipped on the fly while it is sent (no temporary archive), or
a .zip archive, into --path (default local) of every allocation. PUT by default: the
task's running pools are stopped while the content is put in place and started
again; --hot sends PATCH and leaves them running. --clean replaces the folder's
content instead of merging over it. Then it waits until the pools that were
stopped run again, and with --wait-http PATH until the site answers PATH (through
the task's first http binding, on the node) with a status below 400.

--zero-downtime deploys without dropping a request: the archive goes into a new
version folder beside the application's folder (--app, --vdir), and the
application is switched to it in one IIS configuration change with an
overlapped recycle, after the new version answered --warmup PATH when given.
It does not combine with --hot, --clean, --path, --no-wait or --wait-timeout.
The versions kept are listed by status; rollback switches back.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkZeroDowntimeFlags(cmd.Flags(), o.zeroDowntime); err != nil {
				return err
			}
			if err := o.zdd.validate(); err != nil {
				return err
			}
			src, err := deploySource(args[0])
			if err != nil {
				return err
			}
			if o.waitHTTP != "" && !strings.HasPrefix(o.waitHTTP, "/") {
				return usagef("--wait-http: %q must start with /", o.waitHTTP)
			}
			if o.waitTimeout <= 0 || o.waitHTTPTimeout <= 0 {
				return usagef("--wait-timeout and --wait-http-timeout must be positive")
			}
			if o.waitHTTP != "" && a.g.apiAddr != "" {
				return usagef("--wait-http needs the allocation's binding from Nomad; it cannot be used with --api-addr")
			}
			ctx := cmd.Context()
			targets, err := a.targets(ctx)
			if err != nil {
				return err
			}
			return a.each(ctx, targets, func(ctx context.Context, t *target, c *client.Client) (string, error) {
				if o.zeroDowntime {
					return a.deployZeroDowntime(ctx, t, c, src, o, len(targets) > 1)
				}
				return a.deployOne(ctx, t, c, src, o, len(targets) > 1)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.path, "path", "local", "folder of the task directory to deploy into")
	f.BoolVar(&o.hot, "hot", false, "PATCH: leave the pools running (a hot patch)")
	f.BoolVar(&o.clean, "clean", false, "replace the folder's content instead of merging over it")
	f.BoolVar(&o.noWait, "no-wait", false, "do not wait for the pools to run again")
	f.DurationVar(&o.waitTimeout, "wait-timeout", 2*time.Minute, "how long to wait for the pools to run again")
	f.StringVar(&o.waitHTTP, "wait-http", "", "then wait until the site answers this path (such as /health) with a status below 400")
	f.DurationVar(&o.waitHTTPTimeout, "wait-http-timeout", time.Minute, "how long to wait for --wait-http")
	f.BoolVar(&o.zeroDowntime, "zero-downtime", false, "deploy into a new version folder and switch to it with an overlapped recycle (no request dropped)")
	o.zdd.addFlags(f)
	return cmd
}

// deploySource is a folder (zipped on the fly) or a .zip file.
func deploySource(arg string) (client.Source, error) {
	info, err := os.Stat(arg)
	if err != nil {
		return nil, usagef("deploy: %v", err)
	}
	switch {
	case info.IsDir():
		return client.DirSource{Dir: arg}, nil
	case info.Mode().IsRegular() && strings.EqualFold(filepath.Ext(arg), ".zip"):
		return client.FileSource{Path: arg, Zip: true}, nil
	}
	return nil, usagef("deploy: %s is neither a folder nor a .zip archive", arg)
}

func (a *app) deployOne(ctx context.Context, t *target, c *client.Client, src client.Source, o deployOptions, many bool) (string, error) {
	rep := a.newReporter(t, "upload", many)
	res, err := c.Upload(ctx, t.clientTask(), o.path, src, client.UploadOptions{Hot: o.hot, Clean: o.clean, Progress: rep.progress()})
	rep.finish(err == nil)
	if err != nil {
		return "", err
	}
	line := fmt.Sprintf("deployed %s (%s) to %s", countFiles(res.Files), humanBytes(res.Bytes), res.Path)
	if o.hot {
		line += ", hot"
	}
	if !o.noWait && len(res.StoppedAppPools) > 0 {
		st, err := waitPools(ctx, c, t, res.StoppedAppPools, o.waitTimeout)
		if err != nil {
			return "", fmt.Errorf("%s, but: %w", line, err)
		}
		line += ", pools running again: " + poolSummary(st, res.StoppedAppPools)
	}
	if o.waitHTTP != "" {
		code, err := waitHTTP(ctx, t, o.waitHTTP, o.waitHTTPTimeout)
		if err != nil {
			return "", fmt.Errorf("%s, but: %w", line, err)
		}
		line += fmt.Sprintf(", GET %s answered %d", o.waitHTTP, code)
	}
	return line, nil
}

// waitPools waits until every pool of names (aliases or IIS names) is
// Started.
func waitPools(ctx context.Context, c *client.Client, t *target, names []string, timeout time.Duration) (*client.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last string
	for {
		st, err := c.Status(ctx, t.clientTask())
		if err == nil {
			pending := pendingPools(st, names)
			if len(pending) == 0 {
				return st, nil
			}
			last = strings.Join(pending, ", ")
		} else if ctx.Err() == nil {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			if last == "" {
				last = ctx.Err().Error()
			}
			return nil, fmt.Errorf("the pools did not run again within %s (%s)", timeout, last)
		case <-time.After(pollInterval):
		}
	}
}

// pendingPools lists the pools of names that are not Started, with their state.
func pendingPools(st *client.Status, names []string) []string {
	var out []string
	for _, p := range st.ApplicationPools {
		if (slices.Contains(names, p.Name) || slices.Contains(names, p.IISName)) && p.Status != "Started" {
			out = append(out, p.Name+" "+p.Status)
		}
	}
	return out
}

// poolSummary is "default (pid 4242)" for each pool of names.
func poolSummary(st *client.Status, names []string) string {
	var parts []string
	for _, p := range st.ApplicationPools {
		if !slices.Contains(names, p.Name) && !slices.Contains(names, p.IISName) {
			continue
		}
		var pids []string
		for _, w := range p.WorkerProcesses {
			pids = append(pids, fmt.Sprint(w.ProcessID))
		}
		if len(pids) == 0 {
			parts = append(parts, p.Name+" (no worker yet)")
		} else {
			parts = append(parts, p.Name+" (pid "+strings.Join(pids, ", ")+")")
		}
	}
	return strings.Join(parts, ", ")
}
