package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/nomad-iis/nomad-iis/api/client"
)

func (a *app) screenshotCommand() *cobra.Command {
	var out, page string
	cmd := &cobra.Command{
		Use:   "screenshot",
		Short: "Save a PNG of the site's page on every allocation",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			targets, err := a.saveTargets(ctx, out)
			if err != nil {
				return err
			}
			return a.each(ctx, targets, func(ctx context.Context, t *target, c *client.Client) (string, error) {
				return a.save(t, out, "screenshot.png", len(targets) > 1, "screenshot", func(w io.Writer, _ client.Progress) (*client.Download, error) {
					return c.Screenshot(ctx, t.clientTask(), page, w)
				})
			})
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output file (default: the API's file name; - for stdout)")
	cmd.Flags().StringVar(&page, "path", "/", "the page of the site")
	return cmd
}

func (a *app) dumpCommand() *cobra.Command {
	var out, pool string
	var pid int
	cmd := &cobra.Command{
		Use:   "dump",
		Short: "Save a memory dump of a worker process on every allocation",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if pid < 0 {
				return usagef("--pid: %d is not a process ID", pid)
			}
			ctx := cmd.Context()
			targets, err := a.saveTargets(ctx, out)
			if err != nil {
				return err
			}
			return a.each(ctx, targets, func(ctx context.Context, t *target, c *client.Client) (string, error) {
				return a.save(t, out, "procdump.dmp", len(targets) > 1, "dump", func(w io.Writer, p client.Progress) (*client.Download, error) {
					return c.ProcDump(ctx, t.clientTask(), pool, pid, w, p)
				})
			})
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "output file (default: the API's file name; - for stdout)")
	cmd.Flags().StringVar(&pool, "pool", "", "the pool (default: the task's default pool)")
	cmd.Flags().IntVar(&pid, "pid", 0, "the worker process (default: the pool's first)")
	return cmd
}
