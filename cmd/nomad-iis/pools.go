package main

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nomad-iis/nomad-iis/api/client"
)

// poolCommand is start, stop or recycle.
func (a *app) poolCommand(op, short string) *cobra.Command {
	var pool string
	cmd := &cobra.Command{
		Use:   op,
		Short: short + " on every allocation (all pools, or --pool)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			targets, err := a.targets(ctx)
			if err != nil {
				return err
			}
			return a.each(ctx, targets, func(ctx context.Context, t *target, c *client.Client) (string, error) {
				res, err := c.Pools(ctx, t.clientTask(), client.PoolOperation(op), pool)
				if err != nil {
					return "", err
				}
				var parts []string
				for _, p := range res.ApplicationPools {
					parts = append(parts, p.Name+" "+p.Status)
				}
				return op + ": " + strings.Join(parts, ", "), nil
			})
		},
	}
	cmd.Flags().StringVar(&pool, "pool", "", "only this pool (its alias in the job file, or its IIS name)")
	return cmd
}
